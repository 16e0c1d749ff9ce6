with

scores as (

    select * from {{ ref('stg_dcrs__wellbeing_scores') }}

),

rejected_lines as (

    -- the rows triage rejected (few): every other staged row is kept
    select source_line from {{ ref('int_wellbeing_score_rows_triaged') }}
    where rejection_reason is not null

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

instruments as (

    select * from {{ ref('wellbeing_instruments') }}

),

code_keys as (

    select * from {{ ref('int_code_lists_keyed') }}

),

coded as (

    select
        scores.*,
        manifest.service_code,
        manifest.extract_date,
        instrument_codes.category as instrument_category,
        stage_codes.category as stage_category,
        instruments.raw_min,
        instruments.raw_max,
        instruments.percent_per_raw_point

    from scores
    anti join rejected_lines on scores.source_line = rejected_lines.source_line
    cross join manifest
    {{ code_list_join('instrument_codes', 'instrument', 'scores.instrument_key') }}
    {{ code_list_join('stage_codes', 'stage', 'scores.stage_key') }}
    left join instruments on instrument_codes.category = instruments.instrument

),

checked as (

    select
        *,
        {{ code_list_issue('instrument_key', 'instrument_category', 'instrument') }}
            as instrument_issue,
        {{ code_list_issue('stage_key', 'stage_category', 'stage') }} as stage_issue,
        case
            when score_value is null then 'blank'
            when score is null then 'not a number'
            when score < raw_min or score > raw_max
                then
                    'outside the ' || instrument_category || ' scale, '
                    || raw_min || ' to ' || raw_max
        end as score_issue,
        {{ date_issue('recorded_date_value', 'recorded_date') }} as recorded_date_issue

    from coded

),

final as (

    select
        service_code,
        extract_date,
        client_id,
        coalesce(instrument_category, 'Invalid') as instrument,
        coalesce(stage_category, 'Invalid') as stage,
        source_line,
        {{ usable('score', 'score_issue') }} as score,
        {{ usable('score * percent_per_raw_point', 'score_issue') }} as score_percent,
        {{ usable('recorded_date', 'recorded_date_issue') }} as recorded_date,
        instrument_value,
        instrument_issue,
        stage_value,
        stage_issue,
        score_value,
        score_issue,
        recorded_date_value,
        recorded_date_issue

    from checked

)

select * from final
