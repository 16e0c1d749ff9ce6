{#- Inequalities: each indicator (inequality_indicators) for every group of every dimension
    (inequality_dimensions: deprivation quintile, broad ethnic group, age band, gender,
    disability), with its 95% Wilson interval. reach is the group's share of the
    service's clients (less Invalid, as the measures count it), compared with the England
    or area benchmark of the matching measure where one exists; the other indicators are
    rates within the group, compared with the service's overall rate. Groups that record
    missing, refused or invalid data are kept as rows (is_comparable false), never
    compared. Every group appears, with n = 0 where no one falls in it. -#}

with

units as (

    select * from {{ ref('int_inequality_units') }}

),

client_groups as (

    select * from {{ ref('int_inequality_client_groups') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

indicators as (

    select * from {{ ref('inequality_indicators') }}

),

dimensions as (

    select * from {{ ref('inequality_dimensions') }}

),

measure_categories as (

    select * from {{ ref('measure_categories') }}

),

ethnic_groups as (

    select * from {{ ref('ethnic_groups') }}

),

benchmarks as (

    select * from {{ ref('benchmarks') }}

),

benchmark_areas as (

    select * from {{ ref('benchmark_areas') }}

),

confidence as (

    {{ confidence_z_by_level() }}

),

group_list as (

    -- every group of every dimension, in order
    select
        dimensions.dimension,
        measure_categories.category as group_name,
        measure_categories.category_order as group_order,
        measure_categories.is_comparable,
        measure_categories.excluded_from_denominator
    from dimensions
    inner join measure_categories on dimensions.measure_id = measure_categories.measure_id

    union all

    select distinct
        'ethnic_group' as dimension,
        ethnic_group as group_name,
        ethnic_group_order as group_order,
        is_comparable,
        ethnic_group = 'Invalid' as excluded_from_denominator
    from ethnic_groups

),

frame as (

    select
        manifest.service_code,
        manifest.extract_date,
        indicators.indicator_id,
        indicators.indicator_order,
        dimensions.dimension_order,
        group_list.*
    from manifest
    cross join indicators
    cross join group_list
    inner join dimensions on group_list.dimension = dimensions.dimension

),

grouped_units as (

    select
        units.service_code,
        units.extract_date,
        units.indicator_id,
        client_groups.dimension,
        client_groups.group_name,
        units.is_counted
    from units
    inner join client_groups on units.client_id = client_groups.client_id

),

counts as (

    select
        service_code,
        extract_date,
        indicator_id,
        dimension,
        group_name,
        count(*) filter (where is_counted) as n,
        count(*) as units
    from grouped_units
    group by service_code, extract_date, indicator_id, dimension, group_name

),

counted as (

    select
        frame.*,
        coalesce(counts.n, 0) as n,
        coalesce(counts.units, 0) as units
    from frame
    left join counts
        on
            frame.service_code = counts.service_code
            and frame.extract_date = counts.extract_date
            and frame.indicator_id = counts.indicator_id
            and frame.dimension = counts.dimension
            and frame.group_name = counts.group_name

),

with_denominators as (

    select
        *,
        case
            -- reach: the service's clients less the excluded groups (Invalid)
            when indicator_id = 'reach' and not excluded_from_denominator
                then sum(n) filter (where not excluded_from_denominator) over (
                    partition by service_code, extract_date, indicator_id, dimension
                )
            when indicator_id <> 'reach' then units
        end as denominator,
        -- the service's overall rate, the same for every dimension
        100.0 * sum(n) over (partition by service_code, extract_date, indicator_id, dimension)
        / nullif(sum(units) over (
            partition by service_code, extract_date, indicator_id, dimension
        ), 0) as service_percent
    from counted

),

service_benchmarks as (

    {{ service_benchmarks('benchmarks', 'benchmark_areas', 'manifest') }}

),

intervals as (

    select
        with_denominators.*,
        100.0 * with_denominators.n / nullif(with_denominators.denominator, 0) as percent,
        {{ wilson_lower(
            'with_denominators.n', 'with_denominators.denominator', 'confidence.z_95'
        ) }} as ci_lower,
        {{ wilson_upper(
            'with_denominators.n', 'with_denominators.denominator', 'confidence.z_95'
        ) }} as ci_upper,
        service_benchmarks.benchmark_name,
        service_benchmarks.benchmark_percent,
        coalesce(service_benchmarks.is_doubtful, false) as is_benchmark_doubtful
    from with_denominators
    cross join confidence
    left join dimensions on with_denominators.dimension = dimensions.dimension
    left join service_benchmarks
        on
            with_denominators.indicator_id = 'reach'
            and with_denominators.service_code = service_benchmarks.service_code
            and dimensions.measure_id = service_benchmarks.measure_id
            and with_denominators.group_name = service_benchmarks.category

),

final as (

    select
        service_code,
        extract_date,
        indicator_id::varchar as indicator_id,
        dimension::varchar as dimension,
        group_name::varchar as group_name,
        group_order::integer as group_order,
        n::integer as n,
        denominator::integer as denominator,
        percent::double as percent,
        ci_lower::double as ci_lower,
        ci_upper::double as ci_upper,
        is_comparable::boolean as is_comparable,
        indicator_order::integer as indicator_order,
        dimension_order::integer as dimension_order,
        case when indicator_id <> 'reach' then service_percent end::double
            as service_percent,
        case
            when indicator_id <> 'reach' and is_comparable
                then {{ compare_with_benchmark('ci_lower', 'ci_upper', 'service_percent') }}
        end::varchar as service_comparison,
        benchmark_name::varchar as benchmark_name,
        benchmark_percent::double as benchmark_percent,
        case
            when is_comparable and not is_benchmark_doubtful
                then {{ compare_with_benchmark('ci_lower', 'ci_upper', 'benchmark_percent') }}
        end::varchar as benchmark_comparison
    from intervals
    order by
        service_code, extract_date, indicator_order, dimension_order, group_order

)

select * from final
