{#- marts.measure_breakdown under disclosure control (macros/disclosure.sql): the count and
    the denominator suppressed (1 to the threshold, or a complementary suppression:
    published_complementary_suppressions) or rounded; the percent and its
    intervals recomputed from the rounded count and denominator (interval_basis says so).
    measures.md lets intervals on the true counts through, but a Wilson interval at full
    precision gives its count and denominator back exactly (and so, by subtraction, some
    suppressed counts), so the published interval is computed from the published counts.
    The comparisons are the true ones, decided in the mart on the true counts (a verdict
    from rounded counts can be wrong), and withheld (null) where the count is suppressed. For goal measures the intervals
    are computed from the published counts over the category's design effect (clients as
    clusters, marts.goal_design_effects), as in marts.measure_breakdown; the design effect
    itself is not published. -#}

with

breakdown as (

    select * from {{ ref('measure_breakdown') }}
    where {{ in_loaded_partition() }}

),

design_effects as (

    select * from {{ ref('goal_design_effects') }}
    where {{ in_loaded_partition() }}

),

complementary as (

    select * from {{ ref('published_complementary_suppressions') }}
    where {{ in_loaded_partition() }} and table_name = 'measure_breakdown'

),

breakdown_flagged as (

    select
        breakdown.*,
        complementary.row_key is not null as is_complementary
    from breakdown
    left join complementary
        on
            breakdown.service_code = complementary.service_code
            and breakdown.extract_date = complementary.extract_date
            and breakdown.measure_id || ' / ' || breakdown.category = complementary.row_key
            and complementary.column_name = 'n'

),

confidence as (

    {{ confidence_z_by_level() }}

),

controlled as (

    select
        service_code,
        extract_date,
        measure_id,
        category,
        category_order,
        {{ disclosure_count('n', 'is_complementary') }} as n,
        {{ disclosure_display('n', 'is_complementary') }} as n_display,
        {{ disclosure_is_suppressed('n', 'is_complementary') }} as is_suppressed,
        {{ disclosure_count('denominator') }} as denominator,
        {{ disclosure_display('denominator') }} as denominator_display,
        benchmark_name,
        benchmark_percent,
        comparison as true_comparison,
        comparison_998 as true_comparison_998,
        comparison_verdict as true_comparison_verdict,
        comparison_verdict_998 as true_comparison_verdict_998,
        measure_title,
        service_name
    from breakdown_flagged

),

controlled_with_z as (

    -- goal measures: the interval on the controlled counts over the design effect
    select
        controlled.*,
        confidence.z_95,
        confidence.z_998,
        controlled.n / coalesce(design_effects.design_effect, 1.0) as interval_n,
        controlled.denominator / coalesce(design_effects.design_effect, 1.0)
            as interval_denominator
    from controlled
    cross join confidence
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
        {{ wilson_lower('interval_n', 'interval_denominator', 'z_95') }} as ci_lower,
        {{ wilson_upper('interval_n', 'interval_denominator', 'z_95') }} as ci_upper,
        benchmark_name,
        benchmark_percent,
        case when not is_suppressed then true_comparison end as comparison,
        {{ wilson_lower('interval_n', 'interval_denominator', 'z_998') }} as ci_lower_998,
        {{ wilson_upper('interval_n', 'interval_denominator', 'z_998') }} as ci_upper_998,
        case when not is_suppressed then true_comparison_998 end as comparison_998,
        case when not is_suppressed then true_comparison_verdict end as comparison_verdict,
        case
            when not is_suppressed then true_comparison_verdict_998
        end as comparison_verdict_998,
        'controlled counts' as interval_basis,
        measure_title,
        service_name
    from controlled_with_z
    order by service_code, extract_date, measure_id, category_order

)

select * from final
