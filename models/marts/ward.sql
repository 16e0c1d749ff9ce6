with

breakdown as (

    select * from {{ ref('measure_breakdown') }}
    where {{ in_loaded_partition() }}

),

wards as (

    select * from {{ ref('int_wards_named') }}

),

final as (

    select
        breakdown.*,
        coalesce(wards.is_target_ward, false) as is_target_ward
    from breakdown
    left join wards
        on
            breakdown.service_code = wards.service_code
            and breakdown.category = wards.ward
    where breakdown.measure_id = 'ward'

)

select * from final
