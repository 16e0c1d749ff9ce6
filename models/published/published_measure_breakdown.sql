{#- marts.measure_breakdown under disclosure control (macros/disclosure.sql): the count and
    the denominator suppressed (1 to the threshold) or rounded; the percent, its interval
    and the comparison recomputed from the rounded count and denominator. measures.md lets
    intervals on the true counts through, but a Wilson interval at full precision gives
    its count and denominator back exactly (and so, by subtraction, some suppressed
    counts), so the published interval is computed from the published counts. For goal
    measures it is computed from the published counts over the category's design effect
    (clients as clusters, marts.goal_design_effects), as in marts.measure_breakdown; the
    design effect itself is not published. -#}

with

breakdown as (

    select * from {{ ref('measure_breakdown') }}
    where {{ in_loaded_partition() }}

),

design_effects as (

    select * from {{ ref('goal_design_effects') }}
    where {{ in_loaded_partition() }}

),

controlled as (

    select
        service_code,
        extract_date,
        measure_id,
        category,
        category_order,
        {{ disclosure_count('n') }} as n,
        {{ disclosure_display('n') }} as n_display,
        {{ disclosure_is_suppressed('n') }} as is_suppressed,
        {{ disclosure_count('denominator') }} as denominator,
        {{ disclosure_display('denominator') }} as denominator_display,
        benchmark_name,
        benchmark_percent
    from breakdown

),

interval_counts as (

    -- goal measures: the controlled counts over the design effect; 1 for the others
    select
        controlled.*,
        controlled.n / coalesce(design_effects.design_effect, 1.0) as interval_n,
        controlled.denominator / coalesce(design_effects.design_effect, 1.0)
            as interval_denominator
    from controlled
    left join design_effects
        on
            controlled.service_code = design_effects.service_code
            and controlled.extract_date = design_effects.extract_date
            and controlled.measure_id = design_effects.measure_id
            and controlled.category = design_effects.category

),

final as (

    select
        service_code,
        extract_date,
        measure_id,
        category,
        category_order,
        n,
        n_display,
        is_suppressed,
        denominator,
        denominator_display,
        case when denominator > 0 then 100.0 * n / denominator end as percent,
        {{ wilson_lower('interval_n', 'interval_denominator') }} as ci_lower,
        {{ wilson_upper('interval_n', 'interval_denominator') }} as ci_upper,
        benchmark_name,
        benchmark_percent,
        {{ compare_with_benchmark(
            wilson_lower('interval_n', 'interval_denominator'),
            wilson_upper('interval_n', 'interval_denominator'),
            'benchmark_percent'
        ) }} as comparison
    from interval_counts
    order by service_code, extract_date, measure_id, category_order

)

select * from final
