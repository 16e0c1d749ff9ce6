{#- One row per unit of each required field's population (int_capture_fields_unpivoted)
    and dimension: whether the field is recorded, and the group of the unit's client in
    the dimension: the health trainer the client is registered with ('Not recorded' /
    'Invalid' when none or an unknown one), and each inequality dimension
    (int_inequality_client_groups). A goal's client is the goal's. -#}

with

capture_units as (

    select * from {{ ref('int_capture_fields_unpivoted') }}

),

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

client_groups as (

    select * from {{ ref('int_inequality_client_groups') }}

),

unit_clients as (

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

capture_clients as (

    select
        capture_units.service_code,
        capture_units.extract_date,
        capture_units.field,
        capture_units.unit_id,
        unit_clients.client_id,
        capture_units.is_captured
    from capture_units
    inner join unit_clients
        on
            capture_units.unit_id = unit_clients.unit_id
            and (capture_units.population = 'all goals') = unit_clients.is_goal

),

trainer_groups as (

    select
        client_id,
        'health_trainer' as dimension,
        case
            when health_trainer_id is null then 'Not recorded'
            when health_trainer_id_issue is not null then 'Invalid'
            else health_trainer_id
        end as group_name,
        health_trainer_id is not null and health_trainer_id_issue is null as is_comparable
    from clients

),

all_groups as (

    select
        client_id,
        dimension,
        group_name,
        is_comparable
    from trainer_groups

    union all

    select
        client_id,
        dimension,
        group_name,
        is_comparable
    from client_groups

),

final as (

    select
        capture_clients.service_code,
        capture_clients.extract_date,
        capture_clients.field,
        capture_clients.unit_id,
        all_groups.dimension,
        all_groups.group_name,
        all_groups.is_comparable,
        capture_clients.is_captured
    from capture_clients
    inner join all_groups on capture_clients.client_id = all_groups.client_id

)

select * from final
