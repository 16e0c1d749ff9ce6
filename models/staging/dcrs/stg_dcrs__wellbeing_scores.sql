{#- Labels and dates are cleaned once per distinct value (macros/cleaned_values.sql);
    identifiers, nearly all distinct, row by row. -#}
{%- set cleaned_columns = ['instrument', 'stage', 'score', 'recorded_date'] -%}

with

source as (

    select * from {{ source('dcrs', 'wellbeing_scores') }}

),

cleaned_values as (

    {{ cleaned_values('source', cleaned_columns) }}

),

renamed as (

    select
        source.source_line,
        {{ clean_text('source.client_id') }} as client_id,
        instrument_cleaned.cleaned_value as instrument_value,
        instrument_cleaned.value_key as instrument_key,
        stage_cleaned.cleaned_value as stage_value,
        stage_cleaned.value_key as stage_key,
        score_cleaned.cleaned_value as score_value,
        try_cast(trim(source.score) as double) as score,
        recorded_date_cleaned.cleaned_value as recorded_date_value,
        recorded_date_cleaned.date_value as recorded_date

    from source
    {{ join_cleaned_values('source', cleaned_columns) }}

)

select * from renamed
