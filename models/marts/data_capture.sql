{#- Data capture: for every field a health trainer must fill in, the share of its
    population with a recorded, valid value, beside its threshold. 'Declined',
    'Not Stated' and 'Not stated' are answers and count as captured. Fields, populations
    and per-field thresholds come from the data_capture_fields seed; a blank threshold
    takes var('data_capture_default_threshold_percent'). Which units are in each field's
    population, and whether each is captured, is int_capture_fields_unpivoted. -#}

with

capture_units as (

    select * from {{ ref('int_capture_fields_unpivoted') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

fields as (

    select * from {{ ref('data_capture_fields') }}

),

counted as (

    select
        service_code,
        extract_date,
        field,
        count(*) filter (where is_captured) as recorded,
        count(*) as total
    from capture_units
    group by service_code, extract_date, field

),

final as (

    select
        manifest.service_code,
        manifest.extract_date,
        fields.field,
        fields.field_order,
        fields.population,
        coalesce(counted.recorded, 0)::integer as recorded,
        coalesce(counted.total, 0)::integer as total,
        100.0 * counted.recorded / nullif(counted.total, 0) as percent,
        coalesce(
            fields.threshold_percent, {{ var('data_capture_default_threshold_percent') }}
        )::double as threshold_percent,
        -- an empty population has nothing to capture
        coalesce(
            100.0 * counted.recorded / nullif(counted.total, 0)
            >= coalesce(
                fields.threshold_percent, {{ var('data_capture_default_threshold_percent') }}
            ),
            true
        ) as meets_threshold
    from fields
    cross join manifest
    left join counted
        on
            fields.field = counted.field
            and manifest.service_code = counted.service_code
    order by fields.field_order

)

select * from final
