{#- Every reported measure in one table: each category of each measure, its count, the
    measure's denominator (its population less the excluded categories), the percent with
    its 95% and 99.8% Wilson intervals, and the benchmark of the service's area with the
    comparison at both levels, in Fingertips' words where the category's polarity is
    known. No comparison for a category that records missing or unknown data
    (measure_categories.is_comparable) or against a doubtful benchmark. The intervals are
    computed from interval_n and interval_denominator (the count and denominator here),
    so that a measure can widen them (a design effect) in one place. The contract's 13
    columns come first; the measure's title and the service's name come last. -#}

with

members as (

    select * from {{ ref('int_measure_members_categorised') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

clients as (

    select * from {{ ref('int_clients_validated') }}

),

measure_categories as (

    select * from {{ ref('measure_categories') }}

),

measures as (

    select * from {{ ref('measures') }}

),

benchmarks as (

    select * from {{ ref('benchmarks') }}

),

design_effects as (

    select * from {{ ref('int_goal_design_effects') }}

),

benchmark_areas as (

    select * from {{ ref('benchmark_areas') }}

),

confidence as (

    {{ confidence_z_by_level() }}

),

counts as (

    select
        service_code,
        extract_date,
        measure_id,
        category,
        count(*) as n
    from members
    group by service_code, extract_date, measure_id, category

),

seeded_categories as (

    select
        manifest.service_code,
        manifest.extract_date,
        measure_categories.measure_id,
        measure_categories.category,
        measure_categories.category_order,
        measure_categories.excluded_from_denominator
    from measure_categories
    cross join manifest

),

data_categories as (

    -- measures whose categories come from the data (postcode districts, wards): the ones
    -- the data holds, in sort order, between the seeded 'Not recorded' (first) and
    -- 'Invalid' (last)
    select
        counts.service_code,
        counts.extract_date,
        counts.measure_id,
        counts.category,
        row_number() over (
            partition by counts.service_code, counts.extract_date, counts.measure_id
            order by counts.category
        ) as category_order,
        false as excluded_from_denominator
    from counts
    inner join measures on counts.measure_id = measures.measure_id
    left join measure_categories
        on
            counts.measure_id = measure_categories.measure_id
            and counts.category = measure_categories.category
    where
        measures.categories_from = 'data'
        and measure_categories.category is null

),

month_span as (

    -- every calendar month from the first registration to the extract date
    select
        manifest.service_code,
        manifest.extract_date,
        min(clients.registration_month) as first_month,
        date_trunc('month', manifest.extract_date)::date as last_month
    from manifest
    inner join clients on manifest.service_code = clients.service_code
    group by manifest.service_code, manifest.extract_date

),

month_categories as (

    -- measures whose categories are months (month_first_seen): every calendar month
    -- from the first registration to the extract date
    select
        month_span.service_code,
        month_span.extract_date,
        measures.measure_id,
        strftime(months.month_start::date, '%B %Y') as category,
        row_number() over (
            partition by month_span.service_code, month_span.extract_date, measures.measure_id
            order by months.month_start
        ) as category_order,
        false as excluded_from_denominator
    from month_span
    cross join
        generate_series(month_span.first_month, month_span.last_month, interval 1 month)
            as months (month_start)
    cross join measures
    where measures.categories_from = 'months'

),

frame as (

    select * from seeded_categories
    union all
    select * from data_categories
    union all
    select * from month_categories

),

counted as (

    select
        frame.service_code,
        frame.extract_date,
        frame.measure_id,
        frame.category,
        frame.category_order,
        frame.excluded_from_denominator,
        coalesce(counts.n, 0) as n,
        -- goal measures: the category's design effect, clients as clusters
        -- (int_goal_design_effects); 1 for every other measure
        coalesce(design_effects.design_effect, 1.0) as design_effect
    from frame
    left join counts
        on
            frame.service_code = counts.service_code
            and frame.extract_date = counts.extract_date
            and frame.measure_id = counts.measure_id
            and frame.category = counts.category
    left join design_effects
        on
            frame.service_code = design_effects.service_code
            and frame.extract_date = design_effects.extract_date
            and frame.measure_id = design_effects.measure_id
            and frame.category = design_effects.category

),

with_denominators as (

    select
        *,
        case
            when not excluded_from_denominator
                then sum(n) filter (where not excluded_from_denominator) over (
                    partition by service_code, extract_date, measure_id
                )
        end as denominator
    from counted

),

service_benchmarks as (

    {{ service_benchmarks('benchmarks', 'benchmark_areas', 'manifest') }}

),

benchmarked as (

    select
        with_denominators.*,
        measures.measure_order,
        measures.title as measure_title,
        manifest.service_name,
        -- the categories found in the data (districts, wards, months) are answers
        coalesce(measure_categories.is_comparable, true) as is_comparable,
        coalesce(measure_categories.polarity, 'neither') as polarity,
        service_benchmarks.benchmark_name,
        service_benchmarks.area as benchmark_area,
        service_benchmarks.benchmark_percent,
        coalesce(service_benchmarks.is_doubtful, false) as is_benchmark_doubtful,
        -- the count and denominator the intervals are computed from: for goal measures
        -- the effective counts, over the category's design effect (clients as clusters)
        with_denominators.n / with_denominators.design_effect as interval_n,
        with_denominators.denominator / with_denominators.design_effect
            as interval_denominator
    from with_denominators
    inner join measures on with_denominators.measure_id = measures.measure_id
    inner join manifest
        on
            with_denominators.service_code = manifest.service_code
            and with_denominators.extract_date = manifest.extract_date
    left join measure_categories
        on
            with_denominators.measure_id = measure_categories.measure_id
            and with_denominators.category = measure_categories.category
    left join service_benchmarks
        on
            with_denominators.service_code = service_benchmarks.service_code
            and with_denominators.measure_id = service_benchmarks.measure_id
            and with_denominators.category = service_benchmarks.category
            and measures.benchmark_name = service_benchmarks.benchmark_name

),

intervals as (

    select
        benchmarked.*,
        {{ wilson_lower('interval_n', 'interval_denominator', 'confidence.z_95') }}
            as ci_lower,
        {{ wilson_upper('interval_n', 'interval_denominator', 'confidence.z_95') }}
            as ci_upper,
        {{ wilson_lower('interval_n', 'interval_denominator', 'confidence.z_998') }}
            as ci_lower_998,
        {{ wilson_upper('interval_n', 'interval_denominator', 'confidence.z_998') }}
            as ci_upper_998,
        -- the benchmark a verdict may be drawn from
        case
            when benchmarked.is_comparable and not benchmarked.is_benchmark_doubtful
                then benchmarked.benchmark_percent
        end as compared_benchmark_percent
    from benchmarked
    cross join confidence

),

compared as (

    select
        *,
        {{ compare_with_benchmark('ci_lower', 'ci_upper', 'compared_benchmark_percent') }}
            as comparison,
        {{ compare_with_benchmark('ci_lower_998', 'ci_upper_998', 'compared_benchmark_percent') }}
            as comparison_998
    from intervals

),

final as (

    select
        service_code,
        extract_date,
        measure_id,
        category,
        category_order::integer as category_order,
        n::integer as n,
        denominator::integer as denominator,
        case
            when denominator > 0 then 100.0 * n / denominator
        end as percent,
        ci_lower,
        ci_upper,
        benchmark_name,
        benchmark_percent,
        comparison,
        interval_n::double as interval_n,
        interval_denominator::double as interval_denominator,
        ci_lower_998,
        ci_upper_998,
        comparison_998,
        {{ comparison_verdict('comparison', 'polarity') }} as comparison_verdict,
        {{ comparison_verdict('comparison_998', 'polarity') }} as comparison_verdict_998,
        is_comparable,
        polarity,
        benchmark_area,
        is_benchmark_doubtful,
        measure_title,
        service_name
    from compared
    order by
        service_code,
        extract_date,
        measure_order,
        category_order

)

select * from final
