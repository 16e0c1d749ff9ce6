-- A service with a ward list (service_wards) has each of its target wards on that list,
-- matched as labels are: a target ward missing from the list would make every client
-- recorded in it Invalid, and the target-ward figures zero. Returns each target ward
-- missing from its service's list.
with

target_wards as (

    select * from {{ ref('service_target_wards') }}

),

service_wards as (

    select * from {{ ref('int_service_wards_keyed') }}

),

listed_services as (

    select distinct service_code from service_wards

),

final as (

    select
        target_wards.service_code,
        target_wards.ward
    from target_wards
    inner join listed_services on target_wards.service_code = listed_services.service_code
    left join service_wards
        on
            target_wards.service_code = service_wards.service_code
            and {{ label_key('target_wards.ward') }} = service_wards.ward_key
    where service_wards.ward_key is null

)

select * from final
