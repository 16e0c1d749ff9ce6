{#- The design effects of the goal measures' categories (int_goal_design_effects), kept
    for every extract: what widens the goal intervals of marts.measure_breakdown, and what
    published.measure_breakdown needs to widen its own. -#}

with

design_effects as (

    select * from {{ ref('int_goal_design_effects') }}

),

final as (

    select
        service_code,
        extract_date,
        measure_id,
        category,
        clients,
        n,
        denominator,
        design_effect_estimated,
        design_effect
    from design_effects
    order by service_code, extract_date, measure_id, category

)

select * from final
