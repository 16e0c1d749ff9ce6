{#- Change in each wellbeing score between the first and the last session: follow-up
    minus baseline on the percent scale (WHO-5 raw x 4), rounded to the nearest step of
    the instrument's band list with halves away from zero. Only clients with both a
    baseline and a follow-up row for the instrument are in its population; where either
    score is unusable the change is null (counted as Invalid). -#}

with

scores as (

    select * from {{ ref('int_wellbeing_scores_validated') }}

),

instruments as (

    select * from {{ ref('wellbeing_instruments') }}

),

paired as (

    select
        service_code,
        extract_date,
        client_id,
        instrument,
        max(score_percent) filter (where stage = 'baseline') as baseline_percent,
        max(score_percent) filter (where stage = 'follow_up') as follow_up_percent,
        count(*) filter (where stage = 'baseline') as baseline_rows,
        count(*) filter (where stage = 'follow_up') as follow_up_rows

    from scores
    where instrument <> 'Invalid' and stage <> 'Invalid'
    group by service_code, extract_date, client_id, instrument

),

final as (

    select
        paired.service_code,
        paired.extract_date,
        paired.client_id,
        paired.instrument,
        instruments.measure_id,
        paired.baseline_percent,
        paired.follow_up_percent,
        paired.follow_up_percent - paired.baseline_percent as change_percent,
        -- DuckDB rounds halves away from zero
        round((paired.follow_up_percent - paired.baseline_percent) / instruments.change_step)
        * instruments.change_step as change_percent_rounded

    from paired
    inner join instruments on paired.instrument = instruments.instrument
    where paired.baseline_rows > 0 and paired.follow_up_rows > 0

)

select * from final
