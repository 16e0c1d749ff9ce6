{#- marts.measure_breakdown under disclosure control (macros/disclosure.sql): the count and
    the denominator suppressed (1 to the threshold) or rounded; the percent, its interval
    and the comparison recomputed from the rounded count and denominator. measures.md lets
    intervals on the true counts through, but a Wilson interval at full precision gives
    its count and denominator back exactly (and so, by subtraction, some suppressed
    counts), so the published interval is computed from the published counts. For goal
    measures it is computed from the published counts over the category's design effect
    (clients as clusters, int_goal_design_effects), as in marts.measure_breakdown; the
    design effect itself is not published. -#}

with

breakdown as (

    select * from {{ ref('measure_breakdown') }}
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
        benchmark_percent,
        design_effect
    from breakdown

),

interval_counts as (

    select
        *,
        n / design_effect as interval_n,
        denominator / design_effect as interval_denominator
    from controlled

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
