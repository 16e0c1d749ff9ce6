{#- marts.measure_breakdown under disclosure control (macros/disclosure.sql): the count and
    the denominator suppressed (1 to the threshold, or a complementary suppression:
    published_complementary_suppressions) or rounded; the percent, its interval
    and the comparison recomputed from the rounded count and denominator. measures.md lets
    intervals on the true counts through, but a Wilson interval at full precision gives
    its count and denominator back exactly (and so, by subtraction, some suppressed
    counts), so the published interval is computed from the published counts. -#}

with

breakdown as (

    select * from {{ ref('measure_breakdown') }}
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
        benchmark_percent
    from breakdown_flagged

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
        {{ wilson_lower('n', 'denominator') }} as ci_lower,
        {{ wilson_upper('n', 'denominator') }} as ci_upper,
        benchmark_name,
        benchmark_percent,
        {{ compare_with_benchmark(
            wilson_lower('n', 'denominator'),
            wilson_upper('n', 'denominator'),
            'benchmark_percent'
        ) }} as comparison
    from controlled
    order by service_code, extract_date, measure_id, category_order

)

select * from final
