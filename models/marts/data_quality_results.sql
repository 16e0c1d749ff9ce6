{#- The quality checks' results at each service and extract: every check of the Great
    Expectations suites (models/quality), and for the data-capture checks the figures they
    judged, from marts.data_capture. A reload replaces the extract's rows. -#}

with

checks as (

    select * from {{ ref('quality_checks_evaluated') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

capture as (

    select * from {{ ref('data_capture') }}
    where {{ in_loaded_partition() }}

),

final as (

    select
        manifest.service_code,
        manifest.extract_date,
        checks.check_order,
        checks.suite,
        checks.check_id,
        checks.field,
        checks.description,
        checks.expectation,
        capture.population,
        capture.recorded,
        capture.total,
        case
            when checks.suite = 'data_capture' then capture.percent
            else checks.unexpected_count
        end as observed_value,
        capture.threshold_percent as threshold,
        checks.passed
    from checks
    cross join manifest
    left join capture
        on
            checks.suite = 'data_capture'
            and checks.field = capture.field
    order by checks.check_order

)

select * from final
