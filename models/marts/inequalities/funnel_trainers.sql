{#- The trainer funnel plots for every extract (int_funnel_trainer_limits computes them
    for the extract being built). For the service's manager only: never published. -#}

-- depends_on: {{ ref('stg_dcrs__manifests') }} (the pre-hook deletes the loaded partition)

with

limits as (

    select * from {{ ref('int_funnel_trainer_limits') }}

),

final as (

    select
        service_code::varchar as service_code,
        extract_date::date as extract_date,
        indicator_id::varchar as indicator_id,
        health_trainer_id::varchar as health_trainer_id,
        n::integer as n,
        denominator::integer as denominator,
        nullif(percent::double, 'NaN'::double) as percent,
        centre_percent::double as centre_percent,
        nullif(lower_95::double, 'NaN'::double) as lower_95,
        nullif(upper_95::double, 'NaN'::double) as upper_95,
        nullif(lower_998::double, 'NaN'::double) as lower_998,
        nullif(upper_998::double, 'NaN'::double) as upper_998,
        significance::varchar as significance
    from limits

)

select * from final
