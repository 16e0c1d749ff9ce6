{#- Every counted unit (a client, or a goal for goal measures) of every measure's
    population with the measure's category: the client measures of
    int_clients_categorised unpivoted, the goal measures, the score changes banded by
    the measure_categories seed (lower bound included, upper bound not), and the members
    of the measures with a category model of their own (int_measure_members_own_models,
    written from the measure catalogue).
    A view: marts.measure_breakdown counts it in one pass, and the 24 rows per client at a
    million clients are not worth writing down. -#}

{{ config(materialized='view') }}

with

clients as (

    select * from {{ ref('int_clients_categorised') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

changes as (

    select * from {{ ref('int_wellbeing_changes_computed') }}

),

own_model_members as (

    select * from {{ ref('int_measure_members_own_models') }}

),

change_bands as (

    {{ measure_bands() }}

),

client_members as (

    -- one row per client and measure: every column of int_clients_categorised but its
    -- keys is a client measure; a null category (outside the population) drops out
    unpivot (
        select
            * exclude (client_id),
            client_id as unit_id
        from clients
    )
    on columns(* exclude (service_code, extract_date, unit_id))
    into name measure_id value category

),

goal_members as (

    unpivot (
        select
            service_code,
            extract_date,
            goal_id as unit_id,
            goal_type,
            goal,
            coalesce(outcome, 'No outcome yet') as goal_outcome
        from goals
    )
    on goal_type, goal, goal_outcome
    into name measure_id value category

),

change_members as (

    select
        changes.service_code,
        changes.extract_date,
        changes.client_id as unit_id,
        changes.measure_id,
        coalesce(change_bands.category, 'Invalid') as category
    from changes
    left join change_bands
        on
            changes.measure_id = change_bands.measure_id
            and changes.change_percent_rounded >= change_bands.band_lower
            and changes.change_percent_rounded < change_bands.band_upper

),

final as (

    select
        service_code,
        extract_date,
        measure_id,
        unit_id,
        category
    from client_members
    union all
    select
        service_code,
        extract_date,
        measure_id,
        unit_id,
        category
    from goal_members
    union all
    select
        service_code,
        extract_date,
        measure_id,
        unit_id,
        category
    from change_members
    union all
    select
        service_code,
        extract_date,
        measure_id,
        unit_id,
        category
    from own_model_members

)

select * from final
