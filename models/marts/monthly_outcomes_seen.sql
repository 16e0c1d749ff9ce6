{#- Goal outcomes and wellbeing follow-ups by month as the history of extracts saw them.
    An export keeps only the latest outcome of a goal and the latest follow-up score of a
    client and instrument, so marts.monthly_activity cannot count an outcome or follow-up
    that a later one replaced. history.record_versions keeps every version seen at a load:
    a version followed by one with a later date (and, for a goal, another outcome) was
    replaced, and its event is counted in its own month here. A later version that changes
    only the date, only the outcome, or moves the date back is a correction, and replaces
    the event instead. Records removed from the DCRS are not counted. What no loaded
    extract saw (an outcome recorded and replaced between two loads) stays invisible
    (docs/monitoring.md). -#}

with

record_versions as (

    select * from {{ ref('record_versions') }}

),

loaded_extracts as (

    select * from {{ ref('loaded_extracts') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

wellbeing_scores as (

    select * from {{ ref('int_wellbeing_scores_validated') }}

),

monthly_activity as (

    select * from {{ ref('monthly_activity') }}
    where {{ in_loaded_partition() }}

),

loaded as (

    select * from loaded_extracts
    where {{ in_loaded_partition() }}

),

extracts_seen as (

    -- how many extracts of the service the history holds, up to the loaded one
    select
        loaded.service_code,
        loaded.extract_date,
        count(*)::integer as extracts_loaded
    from loaded
    inner join loaded_extracts as earlier
        on
            loaded.service_code = earlier.service_code
            and loaded.extract_date >= earlier.extract_date
    group by loaded.service_code, loaded.extract_date

),

versions_seen as (

    -- every version of the service's goals and follow-up scores, up to the loaded extract
    select
        versions.service_code,
        loaded.extract_date,
        versions.entity,
        versions.record_key,
        versions.extract_date as version_extract_date,
        versions.change_type,
        versions.field_names,
        versions.field_values
    from record_versions as versions
    inner join loaded
        on
            versions.service_code = loaded.service_code
            and versions.extract_date <= loaded.extract_date
    where
        versions.entity = 'goal'
        or (
            versions.entity = 'wellbeing_score'
            and suffix(versions.record_key, ' | follow_up')
        )

),

removed_records as (

    -- records whose latest version, as of the loaded extract, is a removal
    select
        service_code,
        extract_date,
        entity,
        record_key
    from versions_seen
    group by service_code, extract_date, entity, record_key
    having arg_max(change_type, version_extract_date) = 'removed'

),

dated_versions as (

    select
        versions_seen.service_code,
        versions_seen.extract_date,
        versions_seen.entity,
        versions_seen.record_key,
        versions_seen.version_extract_date,
        case
            when versions_seen.entity = 'goal'
                then
                    versions_seen.field_values[
                        list_position(versions_seen.field_names, 'client_id')
                    ]
            else split_part(versions_seen.record_key, ' | ', 1)
        end as client_id,
        case
            when versions_seen.entity = 'goal'
                then
                    versions_seen.field_values[
                        list_position(versions_seen.field_names, 'outcome')
                    ]
        end as outcome,
        try_cast(
            versions_seen.field_values[
                list_position(
                    versions_seen.field_names,
                    case
                        when versions_seen.entity = 'goal' then 'outcome_date'
                        else 'recorded_date'
                    end
                )
            ] as date
        ) as event_date
    from versions_seen
    anti join removed_records
        on
            versions_seen.service_code = removed_records.service_code
            and versions_seen.extract_date = removed_records.extract_date
            and versions_seen.entity = removed_records.entity
            and versions_seen.record_key = removed_records.record_key
    where versions_seen.change_type <> 'removed'

),

event_versions as (

    -- versions that record an event: a goal's outcome with its date, a follow-up's date
    select * from dated_versions
    where
        event_date is not null
        and event_date <= extract_date
        and (
            entity = 'wellbeing_score'
            or {{ goal_outcome_recorded('outcome') }}
        )

),

sequenced as (

    select
        *,
        lead(outcome) over record_history as next_outcome,
        lead(event_date) over record_history as next_event_date
    from event_versions
    window record_history as (
        partition by service_code, extract_date, entity, record_key
        order by version_extract_date
    )

),

replaced_events as (

    -- events a later version replaced with a new one
    select * from sequenced
    where
        next_event_date > event_date
        and (entity = 'wellbeing_score' or next_outcome <> outcome)

),

goal_events as (

    -- each goal's outcome events, once: the extract's own and those replaced before it
    -- (a replaced event the goal came back to is the same event)
    select
        service_code,
        extract_date,
        goal_id::varchar as goal_key,
        outcome,
        outcome_date as event_date
    from goals
    where
        {{ goal_outcome_recorded('outcome') }}
        and outcome_date is not null

    union

    select
        service_code,
        extract_date,
        record_key as goal_key,
        outcome,
        event_date
    from replaced_events
    where entity = 'goal'

),

follow_up_months as (

    -- a client's follow-ups in a month count once, as in monthly_activity
    select
        service_code,
        extract_date,
        client_id::varchar as client_key,
        date_trunc('month', recorded_date)::date as month
    from wellbeing_scores
    where stage = 'follow_up' and recorded_date is not null

    union

    select
        service_code,
        extract_date,
        client_id as client_key,
        date_trunc('month', event_date)::date as month
    from replaced_events
    where entity = 'wellbeing_score'

),

goal_counts as (

    select
        service_code,
        extract_date,
        date_trunc('month', event_date)::date as month,
        count(*) as goal_outcomes_seen,
        count(*) filter (
            where {{ goal_outcome_achieved('outcome') }}
        ) as goals_achieved_or_part_achieved_seen
    from goal_events
    group by all

),

follow_up_counts as (

    select
        service_code,
        extract_date,
        month,
        count(*) as wellbeing_follow_ups_seen
    from follow_up_months
    group by all

),

final as (

    select
        monthly_activity.service_code,
        monthly_activity.extract_date,
        monthly_activity.month,
        extracts_seen.extracts_loaded,
        monthly_activity.goal_outcomes_recorded,
        coalesce(goal_counts.goal_outcomes_seen, 0)::integer as goal_outcomes_seen,
        monthly_activity.goals_achieved_or_part_achieved,
        coalesce(
            goal_counts.goals_achieved_or_part_achieved_seen, 0
        )::integer as goals_achieved_or_part_achieved_seen,
        monthly_activity.wellbeing_follow_ups_recorded,
        coalesce(
            follow_up_counts.wellbeing_follow_ups_seen, 0
        )::integer as wellbeing_follow_ups_seen
    from monthly_activity
    inner join extracts_seen
        on
            monthly_activity.service_code = extracts_seen.service_code
            and monthly_activity.extract_date = extracts_seen.extract_date
    left join goal_counts
        on
            monthly_activity.service_code = goal_counts.service_code
            and monthly_activity.extract_date = goal_counts.extract_date
            and monthly_activity.month = goal_counts.month
    left join follow_up_counts
        on
            monthly_activity.service_code = follow_up_counts.service_code
            and monthly_activity.extract_date = follow_up_counts.extract_date
            and monthly_activity.month = follow_up_counts.month
    order by monthly_activity.month

)

select * from final
