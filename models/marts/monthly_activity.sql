{#- Activity by month: for each calendar month from the service's first month (the
    month of its earliest recorded event) to the extract's month, the events the extract's
    own records date to that month. Months with no events are rows with zeros. An export
    keeps only the latest outcome of a goal and the latest follow-up score of a client and
    instrument (dcrs-export.md), so an outcome or follow-up replaced before the extract is
    not counted in its month (docs/monitoring.md). -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

wellbeing_scores as (

    select * from {{ ref('int_wellbeing_scores_validated') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

first_goals as (

    select
        service_code,
        extract_date,
        client_id,
        min(goal_set_date) as first_goal_set_date
    from goals
    group by service_code, extract_date, client_id

),

-- a follow-up is a client's, whatever number of instruments it scored that month
follow_ups as (

    select distinct
        service_code,
        extract_date,
        client_id,
        date_trunc('month', recorded_date)::date as month
    from wellbeing_scores
    where stage = 'follow_up' and recorded_date is not null

),

events as (

    select
        service_code,
        extract_date,
        date_trunc('month', registration_date)::date as month,
        'clients_registered' as event_kind
    from clients

    union all

    select
        service_code,
        extract_date,
        date_trunc('month', initial_assessment_date)::date as month,
        'clients_assessed' as event_kind
    from clients
    where initial_assessment_date is not null

    union all

    select
        service_code,
        extract_date,
        date_trunc('month', first_goal_set_date)::date as month,
        'phps_started' as event_kind
    from first_goals
    where first_goal_set_date is not null

    union all

    select
        service_code,
        extract_date,
        date_trunc('month', goal_set_date)::date as month,
        'goals_set' as event_kind
    from goals
    where goal_set_date is not null

    union all

    select
        service_code,
        extract_date,
        date_trunc('month', outcome_date)::date as month,
        case
            when {{ goal_outcome_achieved('outcome') }} then 'outcome_achieved_or_part'
            else 'outcome_not_achieved'
        end as event_kind
    from goals
    where
        {{ goal_outcome_recorded('outcome') }}
        and outcome_date is not null

    union all

    select
        service_code,
        extract_date,
        month,
        'wellbeing_follow_up' as event_kind
    from follow_ups

),

counted as (

    select
        service_code,
        extract_date,
        month,
        count(*) filter (where event_kind = 'clients_registered') as clients_registered,
        count(*) filter (where event_kind = 'clients_assessed') as clients_assessed,
        count(*) filter (where event_kind = 'phps_started') as phps_started,
        count(*) filter (where event_kind = 'goals_set') as goals_set,
        count(*) filter (
            where event_kind in ('outcome_achieved_or_part', 'outcome_not_achieved')
        ) as goal_outcomes_recorded,
        count(*) filter (
            where event_kind = 'outcome_achieved_or_part'
        ) as goals_achieved_or_part_achieved,
        count(*) filter (
            where event_kind = 'wellbeing_follow_up'
        ) as wellbeing_follow_ups_recorded
    from events
    group by service_code, extract_date, month

),

month_spans as (

    select
        manifest.service_code,
        manifest.extract_date,
        coalesce(
            min(counted.month), date_trunc('month', manifest.extract_date)::date
        ) as first_month,
        date_trunc('month', manifest.extract_date)::date as extract_month
    from manifest
    left join counted
        on
            manifest.service_code = counted.service_code
            and manifest.extract_date = counted.extract_date
    group by manifest.service_code, manifest.extract_date

),

calendar as (

    select
        service_code,
        extract_date,
        unnest(
            generate_series(first_month, extract_month, interval 1 month)
        )::date as month
    from month_spans

),

final as (

    select
        calendar.service_code,
        calendar.extract_date,
        calendar.month,
        coalesce(counted.clients_registered, 0)::integer as clients_registered,
        coalesce(counted.clients_assessed, 0)::integer as clients_assessed,
        coalesce(counted.phps_started, 0)::integer as phps_started,
        coalesce(counted.goals_set, 0)::integer as goals_set,
        coalesce(counted.goal_outcomes_recorded, 0)::integer as goal_outcomes_recorded,
        coalesce(
            counted.goals_achieved_or_part_achieved, 0
        )::integer as goals_achieved_or_part_achieved,
        coalesce(
            counted.wellbeing_follow_ups_recorded, 0
        )::integer as wellbeing_follow_ups_recorded
    from calendar
    left join counted
        on
            calendar.service_code = counted.service_code
            and calendar.extract_date = counted.extract_date
            and calendar.month = counted.month
    order by calendar.month

)

select * from final
