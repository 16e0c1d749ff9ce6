{#- The service's headline figures (report 7.1.18, sections 1 and 8). Targets and
    target wards come from the service_targets and service_target_wards seeds. -#}

with

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

trainers as (

    select * from {{ ref('int_health_trainers_validated') }}

),

wards as (

    select * from {{ ref('int_wards_named') }}

),

targets as (

    select * from {{ ref('service_targets') }}

),

client_count_limits as (

    select * from {{ ref('client_count_intervals') }}
    where {{ in_loaded_partition() }} and count_kind = 'exact'

),

client_figures as (

    select
        clients.service_code,
        count(*) as clients_registered,
        count(*) filter (where clients.gender = 'Female') as women,
        count(*) filter (where clients.gender = 'Male') as men,
        count(*) filter (where clients.is_eligible) as eligible_clients,
        min(clients.registration_date) as first_registration_date,
        count(*) filter (where wards.ward_key is not null) as clients_with_ward_recorded,
        count(*) filter (where wards.is_target_ward) as clients_in_target_wards,
        count(*) filter (
            where clients.deprivation_quintile in ('Q1 - Most deprived', 'Q2')
        ) as clients_in_two_most_deprived_quintiles
    from clients
    left join wards
        on
            clients.service_code = wards.service_code
            and clients.ward_key = wards.ward_key
    group by clients.service_code

),

goal_figures as (

    select
        service_code,
        count(distinct client_id) as clients_with_php,
        count(*) as goals_set,
        count(*) filter (
            where outcome in ('Achieved', 'Part Achieved', 'Not Achieved')
        ) as goals_with_outcome,
        count(*) filter (
            where outcome in ('Achieved', 'Part Achieved')
        ) as goals_achieved_or_part
    from goals
    group by service_code

),

trainer_figures as (

    select
        service_code,
        count(*) filter (where is_in_post) as health_trainers_in_post,
        sum(wte) filter (where is_in_post)::double as total_wte
    from trainers
    group by service_code

),

combined as (

    select
        manifest.service_code,
        manifest.service_name,
        manifest.extract_date,
        client_figures.clients_registered,
        client_figures.women,
        client_figures.men,
        client_figures.eligible_clients,
        coalesce(goal_figures.clients_with_php, 0) as clients_with_php,
        coalesce(goal_figures.goals_set, 0) as goals_set,
        coalesce(goal_figures.goals_with_outcome, 0) as goals_with_outcome,
        coalesce(goal_figures.goals_achieved_or_part, 0) as goals_achieved_or_part,
        coalesce(trainer_figures.health_trainers_in_post, 0) as health_trainers_in_post,
        trainer_figures.total_wte,
        client_figures.first_registration_date,
        datesub(
            'month',
            date_trunc('month', client_figures.first_registration_date),
            date_trunc('month', manifest.extract_date)
        ) + 1 as months_of_operation,
        -- the period the figures cover: first registration to extract date, both counted
        client_figures.first_registration_date as period_start,
        manifest.extract_date as period_end,
        datediff('day', client_figures.first_registration_date, manifest.extract_date)
        + 1 as days_of_operation,
        client_count_limits.lower_limit as clients_registered_lower_limit,
        client_count_limits.upper_limit as clients_registered_upper_limit,
        client_count_limits.interval_level as projection_interval_level,
        targets.year_one_client_target,
        client_figures.clients_in_target_wards,
        client_figures.clients_with_ward_recorded,
        targets.target_ward_percent as target_ward_percent_target,
        client_figures.clients_in_two_most_deprived_quintiles
    from manifest
    inner join client_figures on manifest.service_code = client_figures.service_code
    left join goal_figures on manifest.service_code = goal_figures.service_code
    left join trainer_figures on manifest.service_code = trainer_figures.service_code
    left join targets on manifest.service_code = targets.service_code
    left join client_count_limits
        on
            manifest.service_code = client_count_limits.service_code
            and manifest.extract_date = client_count_limits.extract_date

),

final as (

    select
        service_code,
        service_name,
        extract_date,
        first_registration_date,
        {{ service_figures() }}
    from combined

)

select * from final
