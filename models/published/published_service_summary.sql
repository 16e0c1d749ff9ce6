{#- marts.service_summary under disclosure control (macros/disclosure.sql): every client
    and goal count suppressed (1 to the threshold, or complementary) or rounded, and every
    ratio, percent and projection recomputed from the controlled counts. Trainers in post and their WTE are
    staff figures, not counts of clients, and are kept as they are; so are the targets.
    The period the figures cover is kept: its start (the first registration date) is the
    service's start, not personal data at service level (docs/decisions.md). The exact
    Poisson interval of the projection by days is that of the published count of clients.
    The headline verdicts (met / below a target) are decided on the true figures and
    withheld where the figure is suppressed. -#}

{%- set counts = disclosure_service_summary_counts() %}

with

summary as (

    select * from {{ ref('service_summary') }}
    where {{ in_loaded_partition() }}

),

-- the partition's complementary suppressions (published_complementary_suppressions)
complementary as (

    select column_name from {{ ref('published_complementary_suppressions') }}
    where {{ in_loaded_partition() }} and table_name = 'service_summary'

),

client_count_limits as (

    select * from {{ ref('client_count_intervals') }}
    where {{ in_loaded_partition() }} and count_kind = 'published'

),

controlled as (

    select
        service_code,
        service_name,
        extract_date,
        {% for column in counts -%}
            {{ disclosure_count(
                column, "'" ~ column ~ "' in (select column_name from complementary)"
            ) }} as {{ column }},
        {% endfor -%}
        health_trainers_in_post,
        total_wte,
        months_of_operation,
        period_start,
        period_end,
        days_of_operation,
        projection_interval_level,
        year_one_client_target,
        target_ward_percent_target,
        -- the headline verdicts, decided on the true figures (macros/report.sql)
        {{ target_status('projected_clients_12_months', 'year_one_client_target') }}
            as client_target_status,
        {{ target_status('projected_clients_per_wte_12_months', 'target_clients_per_wte') }}
            as clients_per_wte_target_status,
        {{ target_status('target_ward_percent_of_all', 'target_ward_percent_target') }}
            as target_ward_target_status
    from summary

),

bounded as (

    select
        controlled.*,
        client_count_limits.lower_limit as clients_registered_lower_limit,
        client_count_limits.upper_limit as clients_registered_upper_limit
    from controlled
    left join client_count_limits
        on
            controlled.service_code = client_count_limits.service_code
            and controlled.extract_date = client_count_limits.extract_date
            and controlled.clients_registered = client_count_limits.client_count

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
            when clients_in_target_wards is not null and clients_registered is not null
                then target_ward_target_status
        end as target_ward_target_status
    from bounded

)

select * from final
