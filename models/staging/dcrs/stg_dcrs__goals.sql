{#- Labels and dates are cleaned once per distinct value (macros/cleaned_values.sql);
    identifiers, nearly all distinct, row by row. -#}
{%- set cleaned_columns = ['goal_set_date', 'goal', 'outcome', 'outcome_date'] -%}

with

source as (

    select * from {{ source('dcrs', 'goals') }}

),

cleaned_values as (

    {{ cleaned_values('source', cleaned_columns) }}

),

renamed as (

    select
        source.source_line,
        {{ clean_text('source.goal_id') }} as goal_id,
        {{ clean_text('source.client_id') }} as client_id,
        goal_set_date_cleaned.cleaned_value as goal_set_date_value,
        goal_set_date_cleaned.date_value as goal_set_date,
        goal_cleaned.cleaned_value as goal_value,
        goal_cleaned.value_key as goal_key,
        outcome_cleaned.cleaned_value as outcome_value,
        outcome_cleaned.value_key as outcome_key,
        outcome_date_cleaned.cleaned_value as outcome_date_value,
        outcome_date_cleaned.date_value as outcome_date

    from source
    {{ join_cleaned_values('source', cleaned_columns) }}

)

select * from renamed
