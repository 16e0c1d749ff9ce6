{#- marts.wellbeing_outcomes under disclosure control (macros/disclosure.sql): each count
    of clients suppressed (1 to the threshold) or rounded; the percents and the Wilson
    interval of the improved percent recomputed from the controlled counts. The mean
    change and its interval are published only where the paired count is published and
    not 0: a mean over a suppressed handful of clients says too much about each. They are
    rounded to var published_mean_change_decimals (whole points of the 0-100 scale): at
    full precision a mean of whole-number changes gives its count back (only one count in
    the rounded count's range divides the sum), and with it the suppressed cells it
    bounds. -#}

{%- set counts = disclosure_wellbeing_outcome_counts() %}

with

outcomes as (

    select * from {{ ref('wellbeing_outcomes') }}
    where {{ in_loaded_partition() }}

),

confidence as (

    {{ confidence_z_by_level() }}

),

controlled as (

    select
        service_code,
        extract_date,
        instrument,
        {% for column in counts -%}
            {{ disclosure_count(column) }} as {{ column }},
        {% endfor -%}
        mean_change,
        mean_change_ci_lower,
        mean_change_ci_upper
    from outcomes

),

controlled_with_z as (

    select
        controlled.*,
        confidence.z_95
    from controlled
    cross join confidence

),

final as (

    select
        service_code,
        extract_date,
        instrument,
        clients_with_baseline,
        clients_with_follow_up,
        clients_paired,
        100.0 * clients_paired / nullif(clients_with_baseline, 0) as follow_up_percent,
        improved,
        100.0 * improved / nullif(clients_paired, 0) as improved_percent,
        {{ wilson_lower('improved', 'clients_paired', 'z_95') }} as improved_ci_lower,
        {{ wilson_upper('improved', 'clients_paired', 'z_95') }} as improved_ci_upper,
        case
            when clients_paired > 0
                then round(mean_change, {{ var('published_mean_change_decimals') }})
        end as mean_change,
        case
            when clients_paired > 0
                then round(mean_change_ci_lower, {{ var('published_mean_change_decimals') }})
        end as mean_change_ci_lower,
        case
            when clients_paired > 0
                then round(mean_change_ci_upper, {{ var('published_mean_change_decimals') }})
        end as mean_change_ci_upper
    from controlled_with_z
    order by service_code, extract_date, instrument

)

select * from final
