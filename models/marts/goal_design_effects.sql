{#- The design effects of the goal measures' categories (int_goal_design_effects), kept
    for every extract: what widens the goal intervals of marts.measure_breakdown, and what
    published.measure_breakdown needs to widen its own. -#}

with

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

design_effects as (

    select * from {{ ref('int_goal_design_effects') }}

),

final as (

    -- the extract being loaded (the partition this run builds)
    select
        design_effects.service_code,
        design_effects.extract_date,
        design_effects.measure_id,
        design_effects.category,
        design_effects.clients,
        design_effects.n,
        design_effects.denominator,
        design_effects.design_effect_estimated,
        design_effects.design_effect
    from design_effects
    inner join manifest
        on
            design_effects.service_code = manifest.service_code
            and design_effects.extract_date = manifest.extract_date
    order by
        design_effects.service_code,
        design_effects.extract_date,
        design_effects.measure_id,
        design_effects.category

)

select * from final
