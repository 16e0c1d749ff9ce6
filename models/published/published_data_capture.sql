{#- marts.data_capture under disclosure control (macros/disclosure.sql): recorded and total
    suppressed (1 to the threshold, or complementary) or rounded, the percent recomputed from them and
    meets_threshold judged on that percent, so that the table agrees with itself. Near the
    threshold it can differ from marts.data_capture, which judges the true percent. -#}

with

capture as (

    select * from {{ ref('data_capture') }}
    where {{ in_loaded_partition() }}

),

-- the partition's complementary suppressions (published_complementary_suppressions)
complementary as (

    select
        row_key as field,
        column_name
    from {{ ref('published_complementary_suppressions') }}
    where {{ in_loaded_partition() }} and table_name = 'data_capture'

),

controlled as (

    select
        service_code,
        extract_date,
        field,
        field_order,
        population,
        {{ disclosure_count(
            'recorded', "(field, 'recorded') in (select * from complementary)"
        ) }} as recorded,
        {{ disclosure_count(
            'total', "(field, 'total') in (select * from complementary)"
        ) }} as total,
        threshold_percent
    from capture

),

final as (

    select
        service_code,
        extract_date,
        field,
        field_order,
        population,
        recorded,
        total,
        100.0 * recorded / nullif(total, 0) as percent,
        threshold_percent,
        case
            -- an empty population has nothing to capture
            when total = 0 then true
            when recorded is not null and total is not null
                then 100.0 * recorded / total >= threshold_percent
        end as meets_threshold
    from controlled
    order by service_code, extract_date, field_order

)

select * from final
