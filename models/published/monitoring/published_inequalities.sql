{#- marts.inequalities under disclosure control (macros/disclosure.sql): each group's n
    and denominator 0, suppressed (1 to the threshold, or a complementary suppression:
    published_complementary_suppressions) or rounded; percent and the 95% Wilson interval
    recomputed from the controlled counts (as published.measure_breakdown does: an
    interval at full precision gives its counts back). The service's overall rate is that
    of the dimension's controlled counts (null when one of its groups is suppressed), and
    both comparisons are made again on the controlled interval, so nothing here comes
    from a true count. Unknown groups (is_comparable false) are kept, never compared. -#}

with

inequalities as (

    select * from {{ ref('inequalities') }}
    where {{ in_loaded_partition() }}

),

complementary as (

    select * from {{ ref('published_complementary_suppressions') }}
    where {{ in_loaded_partition() }} and table_name = 'inequalities'

),

confidence as (

    {{ confidence_z_by_level() }}

),

inequalities_flagged as (

    select
        inequalities.*,
        coalesce(bool_or(complementary.column_name = 'n'), false) as n_is_complementary,
        coalesce(
            bool_or(complementary.column_name = 'denominator'), false
        ) as denominator_is_complementary
    from inequalities
    left join complementary
        on
            inequalities.service_code = complementary.service_code
            and inequalities.extract_date = complementary.extract_date
            and inequalities.indicator_id || ' / ' || inequalities.dimension || ' / '
            || inequalities.group_name = complementary.row_key
    group by all

),

controlled as (

    select
        service_code,
        extract_date,
        indicator_id,
        dimension,
        group_name,
        group_order,
        {{ disclosure_count('n', 'n_is_complementary') }} as n,
        {{ disclosure_count('denominator', 'denominator_is_complementary') }} as denominator,
        {{ disclosure_is_suppressed('n', 'n_is_complementary') }}
        or {{ disclosure_is_suppressed('denominator', 'denominator_is_complementary') }}
            as is_suppressed,
        is_comparable,
        indicator_order,
        dimension_order,
        benchmark_name,
        benchmark_percent,
        -- null in the mart for a doubtful benchmark or a group not compared: public facts
        benchmark_comparison is not null as is_benchmark_compared,
        -- reach's groups left out of its denominator (Invalid, Not recorded) have none
        denominator is not null as has_denominator
    from inequalities_flagged

),

service_rates as (

    select
        service_code,
        extract_date,
        indicator_id,
        dimension,
        case
            when not bool_or(is_suppressed) and sum(denominator) > 0
                then 100.0 * sum(n) / sum(denominator)
        end as service_percent
    from controlled
    where indicator_id <> 'reach' and denominator is not null
    group by service_code, extract_date, indicator_id, dimension

),

intervals as (

    select
        controlled.*,
        100.0 * controlled.n / nullif(controlled.denominator, 0) as percent,
        {{ wilson_lower('controlled.n', 'controlled.denominator', 'confidence.z_95') }}
            as ci_lower,
        {{ wilson_upper('controlled.n', 'controlled.denominator', 'confidence.z_95') }}
            as ci_upper,
        service_rates.service_percent
    from controlled
    cross join confidence
    left join service_rates
        on
            controlled.service_code = service_rates.service_code
            and controlled.extract_date = service_rates.extract_date
            and controlled.indicator_id = service_rates.indicator_id
            and controlled.dimension = service_rates.dimension

),

final as (

    select
        service_code,
        extract_date,
        indicator_id,
        dimension,
        group_name,
        group_order,
        n,
        denominator,
        percent::double as percent,
        ci_lower::double as ci_lower,
        ci_upper::double as ci_upper,
        is_comparable,
        indicator_order,
        dimension_order,
        service_percent::double as service_percent,
        case
            when indicator_id <> 'reach' and is_comparable
                then {{ compare_with_benchmark('ci_lower', 'ci_upper', 'service_percent') }}
        end::varchar as service_comparison,
        benchmark_name,
        benchmark_percent,
        case
            when is_benchmark_compared
                then {{ compare_with_benchmark('ci_lower', 'ci_upper', 'benchmark_percent') }}
        end::varchar as benchmark_comparison,
        is_suppressed,
        has_denominator
    from intervals
    order by
        service_code, extract_date, indicator_order, dimension_order, group_order

)

select * from final
