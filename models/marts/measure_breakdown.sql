{#- Every reported measure in one table: each category of each measure, its count, the
    measure's denominator (its population less the excluded categories), the percent with
    its 95% Wilson interval, and the benchmark with the comparison. -#}

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
        end as denominator,
        -- the counts the interval is computed on: the effective counts (count and
        -- denominator over the design effect) for goal measures, the counts otherwise
        n / design_effect as interval_n,
        case
            when not excluded_from_denominator
                then sum(n) filter (where not excluded_from_denominator) over (
                    partition by service_code, extract_date, measure_id
                ) / design_effect
        end as interval_denominator
    from counted

),

final as (

    select
        with_denominators.service_code,
        with_denominators.extract_date,
        with_denominators.measure_id,
        with_denominators.category,
        with_denominators.category_order::integer as category_order,
        with_denominators.n::integer as n,
        with_denominators.denominator::integer as denominator,
        case
            when with_denominators.denominator > 0
                then 100.0 * with_denominators.n / with_denominators.denominator
        end as percent,
        {{ wilson_lower(
            'with_denominators.interval_n', 'with_denominators.interval_denominator'
        ) }} as ci_lower,
        {{ wilson_upper(
            'with_denominators.interval_n', 'with_denominators.interval_denominator'
        ) }} as ci_upper,
        benchmarks.benchmark_name,
        benchmarks.benchmark_percent,
        {{ compare_with_benchmark(
            wilson_lower('with_denominators.interval_n', 'with_denominators.interval_denominator'),
            wilson_upper('with_denominators.interval_n', 'with_denominators.interval_denominator'),
            'benchmarks.benchmark_percent'
        ) }} as comparison
    from with_denominators
    inner join measures on with_denominators.measure_id = measures.measure_id
    left join benchmarks
        on
            with_denominators.measure_id = benchmarks.measure_id
            and with_denominators.category = benchmarks.category
            and measures.benchmark_name = benchmarks.benchmark_name
    order by
        with_denominators.service_code,
        with_denominators.extract_date,
        measures.measure_order,
        with_denominators.category_order

)

select * from final
