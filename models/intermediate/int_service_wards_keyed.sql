{#- The wards of each service's ward list (the service_wards seed) with the key recorded
    wards are matched on, as int_code_lists_keyed keys the code lists. -#}

with

service_wards as (

    select * from {{ ref('service_wards') }}

),

keyed as (

    select
        service_code,
        ward,
        {{ label_key('ward') }} as ward_key,
        borough

    from service_wards

)

select * from keyed
