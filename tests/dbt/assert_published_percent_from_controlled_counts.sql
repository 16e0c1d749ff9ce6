-- Percentages in the published tables are computed from the controlled counts beside
-- them (never from the true counts), and are null where a count they need is suppressed.
-- Returns the rows whose percent is not 100 x numerator / denominator of the published
-- figures.
with

breakdown as (

    select * from {{ ref('published_measure_breakdown') }}

),

summary as (

    select * from {{ ref('published_service_summary') }}

),

capture as (

    select * from {{ ref('published_data_capture') }}

),

checks as (

    select
        'measure_breakdown' as table_name,
        measure_id || ' / ' || category as row_key,
        percent as shown,
        100.0 * n / nullif(denominator, 0) as expected
    from breakdown
    union all
    select
        'service_summary' as table_name,
        'goals_achieved_or_part_percent' as row_key,
        goals_achieved_or_part_percent as shown,
        100.0 * goals_achieved_or_part / nullif(goals_with_outcome, 0) as expected
    from summary
    union all
    select
        'service_summary' as table_name,
        'target_ward_percent_of_all' as row_key,
        target_ward_percent_of_all as shown,
        100.0 * clients_in_target_wards / nullif(clients_registered, 0) as expected
    from summary
    union all
    select
        'data_capture' as table_name,
        field as row_key,
        percent as shown,
        100.0 * recorded / nullif(total, 0) as expected
    from capture

),

final as (

    select *
    from checks
    where
        (shown is null) <> (expected is null)
        or abs(shown - expected) > 1e-9

)

select * from final
