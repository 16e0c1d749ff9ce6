{#- The valid wards recorded for the service's clients (an Invalid ward has no ward_key).
    Spellings that match as labels (case, spacing, dashes, apostrophes) are one ward,
    shown as the service's configuration spells it (target wards, then the ward list),
    else by its most frequent cleaned spelling, and flagged when it is one of the
    service's target wards. -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

target_wards as (

    select * from {{ ref('service_target_wards') }}

),

service_wards as (

    select * from {{ ref('int_service_wards_keyed') }}

),

spellings as (

    select
        service_code,
        ward_key,
        ward_name as spelling,
        count(*) as clients
    from clients
    where ward_key is not null
    group by service_code, ward_key, spelling

),

named as (

    select
        service_code,
        ward_key,
        first(spelling order by clients desc, spelling asc) as ward,
        sum(clients) as clients
    from spellings
    group by service_code, ward_key

),

final as (

    select
        named.service_code,
        named.ward_key,
        -- a target or listed ward is shown as the service's configuration spells it
        coalesce(target_wards.ward, service_wards.ward, named.ward) as ward,
        named.clients,
        target_wards.ward is not null as is_target_ward
    from named
    left join target_wards
        on
            named.service_code = target_wards.service_code
            and named.ward_key = {{ label_key('target_wards.ward') }}
    left join service_wards
        on
            named.service_code = service_wards.service_code
            and named.ward_key = service_wards.ward_key

)

select * from final
