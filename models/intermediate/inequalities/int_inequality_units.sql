{#- One row per unit of each inequality indicator's population, with the client it belongs
    to and whether it counts in the indicator's numerator:
    reach: every kept client (all count);
    php_started: eligible clients, counted when at least one goal is set for them (a PHP,
    measures.md);
    goal_achieved_or_part: goals with an outcome recorded (Achieved, Part Achieved, Not
    Achieved), counted when Achieved or Part Achieved;
    wellbeing_improved: clients with a usable WHO-5 baseline and follow-up, counted when the
    score rose (as marts.wellbeing_outcomes counts improved). -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

wellbeing_changes as (

    select * from {{ ref('int_wellbeing_changes_computed') }}

),

clients_with_goals as (

    select distinct client_id from goals

),

reach_units as (

    select
        service_code,
        extract_date,
        'reach' as indicator_id,
        client_id as unit_id,
        client_id,
        true as is_counted
    from clients

),

php_units as (

    select
        clients.service_code,
        clients.extract_date,
        'php_started' as indicator_id,
        clients.client_id as unit_id,
        clients.client_id,
        clients_with_goals.client_id is not null as is_counted
    from clients
    left join clients_with_goals on clients.client_id = clients_with_goals.client_id
    where clients.is_eligible

),

goal_units as (

    select
        goals.service_code,
        goals.extract_date,
        'goal_achieved_or_part' as indicator_id,
        goals.goal_id as unit_id,
        goals.client_id,
        {{ goal_outcome_achieved('goals.outcome') }} as is_counted
    from goals
    -- the goal's client must be kept: a goal of a rejected client has no groups
    inner join clients on goals.client_id = clients.client_id
    where {{ goal_outcome_recorded('goals.outcome') }}

),

wellbeing_units as (

    select
        wellbeing_changes.service_code,
        wellbeing_changes.extract_date,
        'wellbeing_improved' as indicator_id,
        wellbeing_changes.client_id as unit_id,
        wellbeing_changes.client_id,
        wellbeing_changes.change_percent > 0 as is_counted
    from wellbeing_changes
    inner join clients on wellbeing_changes.client_id = clients.client_id
    where
        wellbeing_changes.instrument = 'who5'
        and wellbeing_changes.change_percent is not null

),

final as (

    select * from reach_units
    union all
    select * from php_units
    union all
    select * from goal_units
    union all
    select * from wellbeing_units

)

select * from final
