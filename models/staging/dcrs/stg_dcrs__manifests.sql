with

source as (

    select * from {{ source('dcrs', 'manifest') }}

),

renamed as (

    select
        service_code,
        service_name,
        extract_date,
        export_dir,
        loaded_at

    from source

)

select * from renamed
