{#- marts.service_summary under disclosure control (macros/disclosure.sql): every client
    and goal count suppressed (1 to the threshold, or complementary) or rounded, and every ratio, percent and
    projection recomputed from the controlled counts. Trainers in post and their WTE are
    staff figures, not counts of clients, and are kept as they are; so are the targets.
    The date of the first registration is one client's and is left out (months of
    operation, which it gives, stays). -#}

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
        year_one_client_target,
        target_ward_percent_target
    from summary

),

final as (

    select
        service_code,
        service_name,
        extract_date,
        {{ service_figures() }}
    from controlled

)

select * from final
