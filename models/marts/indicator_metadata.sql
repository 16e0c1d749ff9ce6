{{ config(materialized='table', pre_hook=[]) }}

{#- What a reader needs to know to read each measure, as Fingertips gives each indicator:
    its definition, numerator, denominator, population, period, benchmark (with its area,
    source and period), interval method, polarity and caveats. Every figure comes from the
    seeds (measures, measure_categories, benchmarks, benchmark_areas, confidence_levels),
    none is written per measure here. It does not depend on the extract, so it is rebuilt
    whole by every run. -#}

with

measures as (

    select * from {{ ref('measures') }}

),

measure_categories as (

    select * from {{ ref('measure_categories') }}

),

benchmarks as (

    select * from {{ ref('benchmarks') }}

),

confidence_levels as (

    select * from {{ ref('confidence_levels') }}

),

category_notes as (

    select
        measure_id,
        string_agg(category, ', ' order by category_order) filter (
            where excluded_from_denominator
        ) as excluded_categories,
        string_agg(category, ', ' order by category_order) filter (
            where not is_comparable
        ) as not_compared_categories,
        string_agg(category || ': ' || polarity, '; ' order by category_order) filter (
            where is_comparable and polarity != 'neither'
        ) as directional_categories
    from measure_categories
    group by measure_id

),

benchmark_sets as (

    select
        benchmarks.measure_id,
        benchmarks.benchmark_name,
        string_agg(distinct benchmarks.area, ', ') as benchmark_area,
        string_agg(distinct benchmarks.source, '; ') as benchmark_source,
        string_agg(distinct benchmarks.period, '; ') as benchmark_period,
        bool_or(benchmarks.is_partial) as is_benchmark_partial,
        count(*) as benchmark_categories,
        sum(benchmarks.benchmark_percent) as benchmark_percent_total,
        string_agg(benchmarks.category, ', ') filter (
            where benchmarks.is_doubtful
        ) as doubtful_benchmark_categories
    from benchmarks
    inner join measures
        on
            benchmarks.measure_id = measures.measure_id
            and benchmarks.benchmark_name = measures.benchmark_name
    group by benchmarks.measure_id, benchmarks.benchmark_name

),

interval_levels as (

    select string_agg(level_label, ' and ' order by level) as level_labels
    from confidence_levels

),

described as (

    select
        measures.measure_id,
        measures.measure_order,
        measures.report_table,
        measures.title,
        measures.definition,
        measures.unit,
        case when measures.unit = 'goal' then 'goals' else 'clients' end as unit_plural,
        measures.population,
        measures.caveats as measure_caveats,
        category_notes.excluded_categories,
        category_notes.not_compared_categories,
        category_notes.directional_categories,
        benchmark_sets.benchmark_name,
        benchmark_sets.benchmark_area,
        benchmark_sets.benchmark_source,
        benchmark_sets.benchmark_period,
        benchmark_sets.is_benchmark_partial,
        benchmark_sets.benchmark_categories,
        benchmark_sets.benchmark_percent_total,
        benchmark_sets.doubtful_benchmark_categories,
        interval_levels.level_labels
    from measures
    cross join interval_levels
    left join category_notes on measures.measure_id = category_notes.measure_id
    left join benchmark_sets on measures.measure_id = benchmark_sets.measure_id

),

final as (

    select
        measure_id,
        measure_order,
        report_table,
        title,
        definition,
        'The ' || unit_plural || ' in the category' as numerator,
        'The measure''s population (' || population || ')'
        || coalesce(', less the categories excluded: ' || excluded_categories, '')
            as denominator,
        population,
        'Cumulative: every one of the ' || unit_plural
        || ' in the population recorded in the export, from the service''s start to the'
        || ' extract date' as period,
        benchmark_name,
        benchmark_area,
        benchmark_source,
        benchmark_period,
        coalesce(is_benchmark_partial, false) as is_benchmark_partial,
        'Wilson score interval at ' || level_labels
        || ' (as Fingertips computes it for a proportion); a category is higher or lower'
        || ' than its benchmark where the interval lies wholly above or below it, at each'
        || ' level' as interval_method,
        case
            when directional_categories is null then 'neither'
            else 'by category'
        end as polarity,
        directional_categories,
        not_compared_categories,
        nullif(concat_ws(
            ' ',
            nullif(measure_caveats, ''),
            case
                when benchmark_name is not null
                    then
                        'Not compared with the benchmark (missing, refused or unknown data): '
                        || not_compared_categories || '.'
            end,
            case
                when is_benchmark_partial
                    then
                        'The benchmark covers ' || benchmark_categories::varchar
                        || ' categories only (' || round(benchmark_percent_total, 1)::varchar
                        || '% in all), not the whole distribution.'
            end,
            'Benchmark shown but not compared, as printed it cannot be right: '
            || doubtful_benchmark_categories || '.'
        ), '') as caveats
    from described
    order by measure_order

)

select * from final
