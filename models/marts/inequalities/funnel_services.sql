{{ config(materialized='table', pre_hook=[]) }}

{#- The service funnel plots: rebuilt whole by every run, from the latest extract of each
    service in the warehouse (int_funnel_service_limits). -#}

with

limits as (

    select * from {{ ref('int_funnel_service_limits') }}

),

final as (

    select
        service_code::varchar as service_code,
        extract_date::date as extract_date,
        indicator_id::varchar as indicator_id,
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
