{#- Wards are free text in the export. Spellings that match as labels (case, spacing,
    dashes, apostrophes) are one ward, shown by its most frequent cleaned spelling, and
    flagged when it is one of the service's target wards. -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

target_wards as (

    select * from {{ ref('service_target_wards') }}

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
        -- a target ward is shown as the service's configuration spells it
        coalesce(target_wards.ward, named.ward) as ward,
        named.clients,
        target_wards.ward is not null as is_target_ward
    from named
    left join target_wards
        on
            named.service_code = target_wards.service_code
            and named.ward_key = {{ label_key('target_wards.ward') }}

)

select * from final
