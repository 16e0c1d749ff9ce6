{#- marts.service_summary under disclosure control (macros/disclosure.sql): every client
    and goal count suppressed (1 to the threshold) or rounded, and every ratio, percent and
    projection recomputed from the controlled counts. Trainers in post and their WTE are
    staff figures, not counts of clients, and are kept as they are; so are the targets.
    The date of the first registration is one client's and is left out (months of
    operation, which it gives, stays). -#}

{%- set counts = disclosure_service_summary_counts() %}

with

summary as (

    select * from {{ ref('service_summary') }}

),

controlled as (

    select
        service_code,
        service_name,
        extract_date,
        {% for column in counts -%}
            {{ disclosure_count(column) }} as {{ column }},
        {% endfor -%}
        health_trainers_in_post,
        total_wte,
        months_of_operation,
        year_one_client_target,
        target_clients_per_wte,
        target_ward_percent_target
    from summary

),

final as (

    select
        service_code,
        service_name,
        extract_date,
        clients_registered,
        women,
        men,
        eligible_clients,
        clients_with_php,
        goals_set,
        goals_with_outcome,
        health_trainers_in_post,
        total_wte,
        months_of_operation,
        clients_registered / nullif(total_wte, 0) as clients_per_wte,
        clients_with_php / nullif(clients_registered, 0) as php_to_client_ratio,
        clients_with_php / nullif(total_wte, 0) as phps_per_wte,
        -- twelve months at the rate so far
        12.0 * clients_registered / months_of_operation as projected_clients_12_months,
        12.0 * clients_with_php / months_of_operation as projected_phps_12_months,
        12.0 * clients_registered / months_of_operation / nullif(total_wte, 0)
            as projected_clients_per_wte_12_months,
        year_one_client_target,
        target_clients_per_wte,
        clients_in_target_wards,
        clients_with_ward_recorded,
        100.0 * clients_in_target_wards / nullif(clients_registered, 0)
            as target_ward_percent_of_all,
        100.0 * clients_in_target_wards / nullif(clients_with_ward_recorded, 0)
            as target_ward_percent_of_recorded,
        target_ward_percent_target,
        clients_in_two_most_deprived_quintiles,
        100.0 * clients_in_two_most_deprived_quintiles / nullif(clients_registered, 0)
            as most_deprived_two_quintiles_percent,
        goals_achieved_or_part,
        100.0 * goals_achieved_or_part / nullif(goals_with_outcome, 0)
            as goals_achieved_or_part_percent
    from controlled

)

select * from final
