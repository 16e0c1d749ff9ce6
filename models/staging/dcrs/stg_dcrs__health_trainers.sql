with

source as (

    select * from {{ source('dcrs', 'health_trainers') }}

),

renamed as (

    select
        source_line,
        {{ clean_text('health_trainer_id') }} as health_trainer_id,
        {{ clean_text('role') }} as role_value,
        {{ label_key('role') }} as role_key,
        {{ clean_text('locality') }} as locality,
        {{ clean_text('wte') }} as wte_value,
        try_cast(trim(wte) as decimal(9, 3)) as wte,
        {{ clean_text('start_date') }} as start_date_value,
        {{ parse_uk_date('start_date') }} as start_date,
        {{ clean_text('end_date') }} as end_date_value,
        {{ parse_uk_date('end_date') }} as end_date

    from source

)

select * from renamed
