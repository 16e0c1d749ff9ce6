{#- marts.service_summary under disclosure control (macros/disclosure.sql): every client
    and goal count suppressed (1 to the threshold) or rounded, and every ratio, percent and
    projection recomputed from the controlled counts. Trainers in post and their WTE are
    staff figures, not counts of clients, and are kept as they are; so are the targets.
    The date of the first registration is one client's and is left out (months of
    operation, which it gives, stays). The headline verdicts (met / below a target) are
    decided on the true figures and withheld where the figure is suppressed. -#}

{%- set counts = disclosure_service_summary_counts() %}

with

summary as (

    select * from {{ ref('service_summary') }}
    where {{ in_loaded_partition() }}

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
        target_ward_percent_target,
        -- the headline verdicts, decided on the true figures (macros/report.sql)
        {{ target_status('projected_clients_12_months', 'year_one_client_target') }}
            as client_target_status,
        {{ target_status('projected_clients_per_wte_12_months', 'target_clients_per_wte') }}
            as clients_per_wte_target_status,
        {{ target_status('target_ward_percent_of_recorded', 'target_ward_percent_target') }}
            as target_ward_target_status
    from summary

),

final as (

    select
        service_code,
        service_name,
        extract_date,
        {{ service_figures() }},
        -- withheld where the figure they judge is not published
        case
            when clients_registered is not null then client_target_status
        end as client_target_status,
        case
            when clients_registered is not null then clients_per_wte_target_status
        end as clients_per_wte_target_status,
        case
            when clients_with_ward_recorded is not null then target_ward_target_status
        end as target_ward_target_status
    from controlled

)

select * from final
