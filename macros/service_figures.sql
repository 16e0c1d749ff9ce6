{#- The service summary's figures from its counts, in the order of the mart. Used by
    marts.service_summary (exact counts) and published.service_summary (controlled
    counts), so that both derive every ratio, projection and percent the same way. -#}
{% macro service_figures() -%}
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
    period_start,
    period_end,
    days_of_operation,
    clients_registered / nullif(total_wte, 0) as clients_per_wte,
    clients_with_php / nullif(clients_registered, 0) as php_to_client_ratio,
    clients_with_php / nullif(total_wte, 0) as phps_per_wte,
    -- twelve months at the rate so far
    12.0 * clients_registered / months_of_operation as projected_clients_12_months,
    12.0 * clients_with_php / months_of_operation as projected_phps_12_months,
    12.0 * clients_registered / months_of_operation / nullif(total_wte, 0)
        as projected_clients_per_wte_12_months,
    -- twelve months (365 days) at the rate of the days so far, with the exact Poisson
    -- interval of the count scaled the same way
    365.0 * clients_registered / days_of_operation as projected_clients_12_months_by_days,
    365.0 * clients_registered_lower_limit / days_of_operation
        as projected_clients_12_months_by_days_lower,
    365.0 * clients_registered_upper_limit / days_of_operation
        as projected_clients_12_months_by_days_upper,
    projection_interval_level,
    year_one_client_target,
    year_one_client_target / nullif(total_wte, 0) as target_clients_per_wte,
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
{%- endmacro %}
