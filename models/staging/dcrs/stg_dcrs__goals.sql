with

source as (

    select * from {{ source('dcrs', 'goals') }}

),

renamed as (

    select
        source_line,
        {{ clean_text('goal_id') }} as goal_id,
        {{ clean_text('client_id') }} as client_id,
        {{ clean_text('goal_set_date') }} as goal_set_date_value,
        {{ parse_uk_date('goal_set_date') }} as goal_set_date,
        {{ clean_text('goal') }} as goal_value,
        {{ label_key('goal') }} as goal_key,
        {{ clean_text('outcome') }} as outcome_value,
        {{ label_key('outcome') }} as outcome_key,
        {{ clean_text('outcome_date') }} as outcome_date_value,
        {{ parse_uk_date('outcome_date') }} as outcome_date

    from source

)

select * from renamed
