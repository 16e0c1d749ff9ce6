with

source as (

    select * from {{ source('dcrs', 'wellbeing_scores') }}

),

renamed as (

    select
        source_line,
        {{ clean_text('client_id') }} as client_id,
        {{ clean_text('instrument') }} as instrument_value,
        {{ label_key('instrument') }} as instrument_key,
        {{ clean_text('stage') }} as stage_value,
        {{ label_key('stage') }} as stage_key,
        {{ clean_text('score') }} as score_value,
        try_cast(trim(score) as double) as score,
        {{ clean_text('recorded_date') }} as recorded_date_value,
        {{ parse_uk_date('recorded_date') }} as recorded_date

    from source

)

select * from renamed
