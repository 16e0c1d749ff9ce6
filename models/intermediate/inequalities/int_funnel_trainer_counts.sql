{#- One row per service, extract, funnel indicator and health trainer: the trainer's
    clients' units counted for each indicator of the trainer funnel plots, by the trainer
    the client is registered with (clients.csv health_trainer_id):
    goal_achieved_or_part: goals with an outcome recorded, counted when Achieved or Part
    Achieved;
    php_started: eligible clients, counted when at least one goal is set;
    data_capture: every required field of every unit in its population
    (int_capture_fields_unpivoted: client fields, and goal fields by the goal's client),
    counted when recorded.
    A client with no trainer recorded counts under 'Not recorded', one whose trainer is
    not in health_trainers.csv under 'Invalid'. -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

capture_units as (

    select * from {{ ref('int_capture_fields_unpivoted') }}

),

inequality_units as (

    select * from {{ ref('int_inequality_units') }}

),

client_trainers as (

    select
        client_id,
        case
            when health_trainer_id is null then 'Not recorded'
            when health_trainer_id_issue is not null then 'Invalid'
            else health_trainer_id
        end as health_trainer_id
    from clients

),

unit_clients as (

    -- the client of each unit of a data-capture population (a client, or a goal's client)
    select
        false as is_goal,
        client_id as unit_id,
        client_id
    from clients

    union all

    select
        true as is_goal,
        goal_id as unit_id,
        client_id
    from goals

),

units as (

    select
        service_code,
        extract_date,
        indicator_id,
        client_id,
        is_counted
    from inequality_units
    where indicator_id in ('goal_achieved_or_part', 'php_started')

    union all

    select
        capture_units.service_code,
        capture_units.extract_date,
        'data_capture' as indicator_id,
        unit_clients.client_id,
        capture_units.is_captured as is_counted
    from capture_units
    inner join unit_clients
        on
            capture_units.unit_id = unit_clients.unit_id
            and (capture_units.population = 'all goals') = unit_clients.is_goal

),

final as (

    select
        units.service_code,
        units.extract_date,
        units.indicator_id,
        client_trainers.health_trainer_id,
        count(*) filter (where units.is_counted) as n,
        count(*) as denominator
    from units
    inner join client_trainers on units.client_id = client_trainers.client_id
    group by
        units.service_code,
        units.extract_date,
        units.indicator_id,
        client_trainers.health_trainer_id

)

select * from final
