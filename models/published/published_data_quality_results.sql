{#- marts.data_quality_results under disclosure control (macros/disclosure.sql): the
    data-capture checks carry published.data_capture's controlled figures and verdict; the
    other checks' counts of unexpected rows are controlled like any count. -#}

with

results as (

    select * from {{ ref('data_quality_results') }}
    where {{ in_loaded_partition() }}

),

capture as (

    select * from {{ ref('published_data_capture') }}
    where {{ in_loaded_partition() }}

),

final as (

    select
        results.service_code,
        results.extract_date,
        results.check_order,
        results.suite,
        results.check_id,
        results.field,
        results.description,
        results.expectation,
        capture.population,
        capture.recorded,
        capture.total,
        case
            when results.suite = 'data_capture' then capture.percent
            else {{ disclosure_count('results.observed_value') }}
        end as observed_value,
        capture.threshold_percent as threshold,
        case
            when results.suite = 'data_capture' then capture.meets_threshold
            else results.passed
        end as passed
    from results
    left join capture
        on
            results.suite = 'data_capture'
            and results.service_code = capture.service_code
            and results.extract_date = capture.extract_date
            and results.field = capture.field
    order by results.service_code, results.extract_date, results.check_order

)

select * from final
