{#- Great Expectations' verdict on each data-capture field (marts.data_quality_results)
    agrees with marts.data_capture's own meets_threshold, and every field of the mart has
    exactly one check: two judgements of the same figures. Returns each disagreement. -#}

with

results as (

    select * from {{ ref('data_quality_results') }}
    where suite = 'data_capture'

),

capture as (

    select * from {{ ref('data_capture') }}

),

final as (

    select
        coalesce(capture.service_code, results.service_code) as service_code,
        coalesce(capture.extract_date, results.extract_date) as extract_date,
        coalesce(capture.field, results.field) as field,
        capture.meets_threshold,
        results.passed
    from capture
    full outer join results
        on
            capture.service_code = results.service_code
            and capture.extract_date = results.extract_date
            and capture.field = results.field
    where
        capture.field is null
        or results.field is null
        or capture.meets_threshold is distinct from results.passed

)

select * from final
