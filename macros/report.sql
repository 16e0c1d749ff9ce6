{#- The report models: everything the monthly HTML report (src/dcrs/report.py, the
    templates in src/dcrs/templates) shows, so that the page only formats it. Each macro
    builds one model from the tables it is given: the marts for the service's own report
    (models/marts/report) and the published tables for the published one
    (models/published/report). Both variants derive every figure and verdict the same way,
    and the published one never reads an exact count. -#}


{#- One row per service and extract: who and when the report is for, the note under the
    headline cards, the period the figures cover, and the span of the data-capture trend.
    Both variants show the period's start: at service level it is the service's start
    date, not personal data (docs/decisions.md). -#}
{% macro report_extracts(service_summary, data_capture, published=false) -%}
with

summary as (

    select * from {{ service_summary }}

),

capture as (

    select * from {{ data_capture }}

),

capture_span as (

    -- the data-capture trend shows every extract loaded up to the one reported
    select
        summary.service_code,
        summary.extract_date,
        min(capture.extract_date) as first_capture_extract_date,
        count(distinct capture.extract_date) as capture_extracts
    from summary
    inner join capture
        on
            summary.service_code = capture.service_code
            and summary.extract_date >= capture.extract_date
    group by summary.service_code, summary.extract_date

),

capture_results as (

    select
        service_code,
        extract_date,
        count(*) as capture_fields,
        count(*) filter (where not meets_threshold) as capture_fields_below
    from capture
    group by service_code, extract_date

),

final as (

    select
        summary.service_code,
        summary.extract_date,
        coalesce(summary.service_name, summary.service_code) as service_name,
        regexp_replace(
            coalesce(summary.service_name, summary.service_code),
            ' Health Trainer [Ss]ervice$',
            ''
        ) as short_service_name,
        -- the period every figure covers (its start is the service's, not a client's)
        summary.period_start,
        summary.period_end,
        summary.days_of_operation,
        summary.months_of_operation,
        summary.projection_interval_level,
        summary.women,
        summary.men,
        summary.eligible_clients,
        coalesce(capture_span.first_capture_extract_date, summary.extract_date)
            as first_capture_extract_date,
        coalesce(capture_span.capture_extracts, 1) as capture_extracts,
        coalesce(capture_results.capture_fields, 0) as capture_fields,
        coalesce(capture_results.capture_fields_below, 0) as capture_fields_below
    from summary
    left join capture_span
        on
            summary.service_code = capture_span.service_code
            and summary.extract_date = capture_span.extract_date
    left join capture_results
        on
            summary.service_code = capture_results.service_code
            and summary.extract_date = capture_results.extract_date

)

select * from final
{%- endmacro %}


{#- Whether a headline figure meets its target: met, below, or null where the figure or
    the target is missing (or the target is 0). Used on the true figures by the service's
    report and by published.service_summary, so the published verdict is the true one. -#}
{% macro target_status(value, target) -%}
    case
        when {{ value }} is null or coalesce({{ target }}, 0) = 0 then null
        when {{ value }} >= {{ target }} then 'met'
        else 'below'
    end
{%- endmacro %}


{#- One row per service, extract and headline card: the card's figure, the target or
    reference it is set against (the year-one target, England or the London services),
    the 12-month projection, whether the service is on course (met / below), the gauge's
    scale, and the counts its sentence quotes. `published` takes each status from
    published.service_summary, where it was decided on the true figures (target_status),
    not from the rounded ones. -#}
{% macro report_headlines(service_summary, london_comparison, published=false) -%}
with

summary as (

    select * from {{ service_summary }}

),

london as (

    select * from {{ london_comparison }}

),

benchmarks as (

    select * from {{ ref('benchmarks') }}

),

card_categories as (

    -- the categories whose England benchmarks add up to a card's reference
    select *
    from (
        values
        ('most_deprived', 'deprivation_quintile', 'Q1 - Most deprived'),
        ('most_deprived', 'deprivation_quintile', 'Q2'),
        ('goals_achieved', 'goal_outcome', 'Achieved'),
        ('goals_achieved', 'goal_outcome', 'Part Achieved')
    ) as card_categories (card_id, measure_id, category)

),

england_references as (

    -- only where every category of the card has a benchmark
    select
        card_categories.card_id,
        case
            when count(benchmarks.benchmark_percent) = count(*)
                then sum(benchmarks.benchmark_percent)
        end as england_percent
    from card_categories
    left join benchmarks
        on
            card_categories.measure_id = benchmarks.measure_id
            and card_categories.category = benchmarks.category
    group by card_categories.card_id

),

london_ratios as (

    select
        service_code,
        extract_date,
        london_services as php_to_client_ratio
    from london
    where figure_id = 'php_to_client_ratio'

),

figures as (

    select
        summary.*,
        london_ratios.php_to_client_ratio as london_php_to_client_ratio,
        england_most_deprived.england_percent as england_most_deprived_percent,
        england_goals_achieved.england_percent as england_goals_achieved_percent
    from summary
    left join london_ratios
        on
            summary.service_code = london_ratios.service_code
            and summary.extract_date = london_ratios.extract_date
    left join england_references as england_most_deprived
        on england_most_deprived.card_id = 'most_deprived'
    left join england_references as england_goals_achieved
        on england_goals_achieved.card_id = 'goals_achieved'

),

clients_registered_card as (

    select
        service_code,
        extract_date,
        'clients_registered' as card_id,
        1 as card_order,
        'Clients registered' as label,
        clients_registered::double as value,
        year_one_client_target::double as reference_value,
        'target' as reference_name,
        projected_clients_12_months as projected_value,
        {% if published -%}
            client_target_status as status,
        {%- else -%}
            {{ target_status('projected_clients_12_months', 'year_one_client_target') }}
                as status,
        {%- endif %}
        100.0 * projected_clients_12_months / nullif(year_one_client_target, 0)
            as projected_percent_of_target,
        clients_registered::double as gauge_value,
        greatest(year_one_client_target, projected_clients_12_months) * 1.05 as gauge_max,
        months_of_operation,
        -- the second projection: by days of operation, with its exact Poisson interval
        days_of_operation,
        projected_clients_12_months_by_days as projected_value_by_days,
        projected_clients_12_months_by_days_lower as projected_by_days_lower,
        projected_clients_12_months_by_days_upper as projected_by_days_upper,
        projection_interval_level
    from figures

),

clients_per_wte_card as (

    select
        service_code,
        extract_date,
        'clients_per_wte' as card_id,
        2 as card_order,
        'Clients per WTE health trainer' as label,
        clients_per_wte as value,
        target_clients_per_wte as reference_value,
        'target' as reference_name,
        projected_clients_per_wte_12_months as projected_value,
        {% if published -%}
            clients_per_wte_target_status as status,
        {%- else -%}
            {{ target_status('projected_clients_per_wte_12_months', 'target_clients_per_wte') }}
                as status,
        {%- endif %}
        clients_per_wte as gauge_value,
        greatest(target_clients_per_wte, projected_clients_per_wte_12_months) * 1.05
            as gauge_max,
        health_trainers_in_post,
        total_wte
    from figures

),

php_ratio_card as (

    select
        service_code,
        extract_date,
        'php_to_client_ratio' as card_id,
        3 as card_order,
        'Personal Health Plan to client ratio' as label,
        php_to_client_ratio as value,
        london_php_to_client_ratio as reference_value,
        'London services' as reference_name,
        clients_with_php as numerator,
        clients_registered as denominator,
        phps_per_wte
    from figures

),

target_wards_card as (

    select
        service_code,
        extract_date,
        'target_wards' as card_id,
        4 as card_order,
        'Clients from target wards' as label,
        target_ward_percent_of_all as value,
        target_ward_percent_target::double as reference_value,
        'target' as reference_name,
        -- the target counts all clients (the contract's 75% of clients registered); the
        -- share of clients with a ward recorded is shown beside it
        {% if published -%}
            target_ward_target_status as status,
        {%- else -%}
            {{ target_status('target_ward_percent_of_all', 'target_ward_percent_target') }}
                as status,
        {%- endif %}
        target_ward_percent_target - target_ward_percent_of_all as points_below_target,
        target_ward_percent_of_all as gauge_value,
        100.0 as gauge_max,
        clients_in_target_wards as numerator,
        clients_registered as denominator,
        target_ward_percent_of_recorded as percent_of_recorded,
        clients_with_ward_recorded
    from figures

),

most_deprived_card as (

    select
        service_code,
        extract_date,
        'most_deprived' as card_id,
        5 as card_order,
        'Clients from the two most deprived quintiles' as label,
        most_deprived_two_quintiles_percent as value,
        england_most_deprived_percent as reference_value,
        'England' as reference_name,
        most_deprived_two_quintiles_percent as gauge_value,
        100.0 as gauge_max,
        clients_in_two_most_deprived_quintiles as numerator,
        clients_registered as denominator
    from figures

),

goals_achieved_card as (

    select
        service_code,
        extract_date,
        'goals_achieved' as card_id,
        6 as card_order,
        'Goals achieved or part achieved' as label,
        goals_achieved_or_part_percent as value,
        england_goals_achieved_percent as reference_value,
        'England' as reference_name,
        goals_achieved_or_part_percent as gauge_value,
        100.0 as gauge_max,
        goals_achieved_or_part as numerator,
        goals_with_outcome as denominator,
        goals_set
    from figures

),

clients_achieved_card as (

    -- the client-level figure beside the goal-level one: a client's goals go together
    select
        service_code,
        extract_date,
        'clients_achieved' as card_id,
        7 as card_order,
        'Clients who achieved or part achieved a goal' as label,
        clients_achieved_or_part_percent as value,
        -- no reference: England's figure counts goals, not clients
        'none' as reference_name,
        clients_achieved_or_part as numerator,
        clients_with_goal_outcome as denominator
    from figures

),

cards as (

    select * from clients_registered_card
    union all by name
    select * from clients_per_wte_card
    union all by name
    select * from php_ratio_card
    union all by name
    select * from target_wards_card
    union all by name
    select * from most_deprived_card
    union all by name
    select * from goals_achieved_card
    union all by name
    select * from clients_achieved_card

),

final as (

    select
        service_code,
        extract_date,
        card_id,
        card_order,
        label,
        value,
        numerator,
        denominator,
        reference_value,
        reference_name,
        projected_value,
        status,
        projected_percent_of_target,
        points_below_target,
        gauge_value,
        -- a gauge beside each verdict, and beside each figure set against England
        case
            when gauge_max <= 0 then null
            when status is not null then gauge_max
            when
                reference_name = 'England'
                and reference_value is not null
                and gauge_value is not null
                then gauge_max
        end as gauge_max,
        months_of_operation,
        days_of_operation,
        projected_value_by_days,
        projected_by_days_lower,
        projected_by_days_upper,
        projection_interval_level,
        health_trainers_in_post,
        total_wte,
        phps_per_wte,
        percent_of_recorded,
        clients_with_ward_recorded,
        goals_set
    from cards

)

select * from final
{%- endmacro %}


{#- One row per service, extract, measure and category: measure_breakdown as the report
    prints it, with whether the category is charted (not excluded from the denominator),
    suppressed (published only) or one of the service's target wards. -#}
{% macro report_measure_categories(measure_breakdown, published=false) -%}
with

breakdown as (

    select * from {{ measure_breakdown }}

),

measure_categories as (

    select * from {{ ref('measure_categories') }}

),

target_wards as (

    select * from {{ ref('service_target_wards') }}

),

final as (

    select
        breakdown.service_code,
        breakdown.extract_date,
        breakdown.measure_id,
        breakdown.category,
        breakdown.category_order,
        breakdown.n,
        breakdown.denominator,
        breakdown.percent,
        breakdown.ci_lower,
        breakdown.ci_upper,
        breakdown.benchmark_name,
        breakdown.benchmark_percent,
        breakdown.comparison,
        breakdown.comparison_998,
        breakdown.comparison_verdict,
        breakdown.comparison_verdict_998,
        -- postcode districts, wards and months come from the data: answers, no direction
        coalesce(measure_categories.polarity, 'neither') as polarity,
        {% if published -%}
            breakdown.is_suppressed,
        {%- else -%}
            false as is_suppressed,
        {%- endif %}
        -- postcode districts, wards and months come from the data and are all counted
        coalesce(measure_categories.excluded_from_denominator, false) as is_excluded,
        -- a target ward is named as the service's configuration spells it (int_wards_named)
        target_wards.ward is not null as is_target_ward
    from breakdown
    left join measure_categories
        on
            breakdown.measure_id = measure_categories.measure_id
            and breakdown.category = measure_categories.category
    left join target_wards
        on
            breakdown.service_code = target_wards.service_code
            and breakdown.category = target_wards.ward
            and breakdown.measure_id = 'ward'

)

select * from final
{%- endmacro %}


{#- One row per service, extract and measure (the measures seed, in order): what the
    measure's section says about it. The benchmark as a sentence names it, how many
    categories are significantly higher or lower, which finding the section states, the
    most common category, and the chart's scale. Built from the measure's categories
    (report_measure_categories), so that exact and published agree in kind. The
    definition and caveats come from indicator_metadata (marts or published). -#}
{% macro report_measures(measure_categories, indicator_metadata) -%}
with

categories as (

    select * from {{ measure_categories }}

),

indicator_metadata as (

    select * from {{ indicator_metadata }}

),

measures as (

    select * from {{ ref('measures') }}

),

benchmarks as (

    select * from {{ ref('benchmarks') }}

),

chart_scales as (

    -- the percent axis: the smallest of these maxima that holds every value charted
    select *
    from (
        values (10, 2), (20, 5), (30, 10), (40, 10), (50, 10), (60, 20), (80, 20), (100, 25)
    ) as chart_scales (axis_max, axis_step)

),

benchmark_sources as (

    select
        measure_id,
        min(period) as benchmark_source
    from benchmarks
    group by measure_id

),

extracts as (

    select distinct
        service_code,
        extract_date
    from categories

),

category_counts as (

    -- charted categories are those in the denominator
    select
        service_code,
        extract_date,
        measure_id,
        first(benchmark_name order by category_order) filter (
            where benchmark_name is not null
        ) as category_benchmark_name,
        count(*) filter (where not is_excluded) as charted_categories,
        max(denominator) filter (where not is_excluded) as denominator,
        count(*) filter (where comparison = 'higher') as higher_count,
        count(*) filter (where comparison = 'lower') as lower_count,
        count(*) filter (where not is_excluded and comparison = 'similar') as similar_count,
        count(*) filter (
            where not is_excluded and benchmark_percent is null
        ) as unbenchmarked_count,
        count(*) filter (where not is_excluded and comparison is not null) as compared_count,
        count(*) filter (
            where not is_excluded and (percent is not null or is_suppressed)
        ) as shown_count,
        greatest(
            max(percent) filter (where not is_excluded),
            max(ci_upper) filter (where not is_excluded),
            max(benchmark_percent) filter (where not is_excluded)
        ) as highest_charted_percent
    from categories
    group by service_code, extract_date, measure_id

),

most_common as (

    -- the charted category with the highest percent shown (the first in order on a tie)
    select
        service_code,
        extract_date,
        measure_id,
        category as most_common_category,
        n as most_common_n,
        percent as most_common_percent
    from categories
    where not is_excluded and not is_suppressed and percent is not null
    qualify row_number() over (
        partition by service_code, extract_date, measure_id
        order by percent desc, category_order asc
    ) = 1

),

chart_axes as (

    select
        category_counts.service_code,
        category_counts.extract_date,
        category_counts.measure_id,
        min(chart_scales.axis_max) as axis_max,
        arg_min(chart_scales.axis_step, chart_scales.axis_max) as axis_step
    from category_counts
    inner join chart_scales
        on coalesce(category_counts.highest_charted_percent, 0) <= chart_scales.axis_max
    group by
        category_counts.service_code,
        category_counts.extract_date,
        category_counts.measure_id

),

described as (

    select
        extracts.service_code,
        extracts.extract_date,
        measures.measure_id,
        measures.measure_order,
        measures.report_table,
        measures.title,
        measures.population,
        case when measures.unit = 'goal' then 'goals' else 'clients' end as unit_plural,
        coalesce(measures.benchmark_name, category_counts.category_benchmark_name)
            as benchmark_name,
        benchmark_sources.benchmark_source,
        coalesce(category_counts.charted_categories, 0) as charted_categories,
        category_counts.denominator,
        -- suppressed: the published denominator is null only when it is 1 to the threshold
        coalesce(
            category_counts.charted_categories > 0 and category_counts.denominator is null,
            false
        ) as is_denominator_suppressed,
        coalesce(category_counts.higher_count, 0) as higher_count,
        coalesce(category_counts.lower_count, 0) as lower_count,
        coalesce(category_counts.similar_count, 0) as similar_count,
        coalesce(category_counts.unbenchmarked_count, 0) as unbenchmarked_count,
        coalesce(category_counts.compared_count, 0) as compared_count,
        coalesce(category_counts.shown_count, 0) as shown_count,
        most_common.most_common_category,
        most_common.most_common_n,
        most_common.most_common_percent,
        coalesce(chart_axes.axis_max, 10) as axis_max,
        coalesce(chart_axes.axis_step, 2) as axis_step,
        indicator_metadata.definition,
        indicator_metadata.caveats
    from extracts
    cross join measures
    left join indicator_metadata on measures.measure_id = indicator_metadata.measure_id
    left join category_counts
        on
            extracts.service_code = category_counts.service_code
            and extracts.extract_date = category_counts.extract_date
            and measures.measure_id = category_counts.measure_id
    left join benchmark_sources
        on measures.measure_id = benchmark_sources.measure_id
    left join most_common
        on
            extracts.service_code = most_common.service_code
            and extracts.extract_date = most_common.extract_date
            and measures.measure_id = most_common.measure_id
    left join chart_axes
        on
            extracts.service_code = chart_axes.service_code
            and extracts.extract_date = chart_axes.extract_date
            and measures.measure_id = chart_axes.measure_id

),

final as (

    select
        service_code,
        extract_date,
        measure_id,
        measure_order,
        report_table,
        title,
        population,
        unit_plural,
        benchmark_name,
        -- the benchmark in a sentence, and as a column heading
        case
            when benchmark_name = 'England' then 'England'
            when benchmark_name like '%population' then 'the borough population'
            else benchmark_name
        end as benchmark_label,
        case
            when benchmark_name like '%population' then 'Borough'
            else benchmark_name
        end as benchmark_heading,
        benchmark_source,
        charted_categories,
        denominator,
        is_denominator_suppressed,
        higher_count,
        lower_count,
        similar_count,
        unbenchmarked_count,
        case
            when is_denominator_suppressed then 'too_few_to_publish'
            when shown_count = 0 then 'none_yet'
            when benchmark_name is not null and compared_count > 0 and higher_count + lower_count > 0
                then 'differences'
            when benchmark_name is not null and compared_count > 0 then 'no_differences'
            when most_common_category is null then 'all_suppressed'
            else 'most_common'
        end as finding,
        most_common_category,
        most_common_n,
        most_common_percent,
        axis_max,
        axis_step,
        definition,
        caveats
    from described

)

select * from final
{%- endmacro %}


{#- One row per service, extract and data-capture field: the field's capture beside its
    standard, its label, the percent at the latest earlier extract, and the floor of its
    trend's scale. -#}
{% macro report_data_capture(data_capture) -%}
with

capture as (

    select * from {{ data_capture }}

),

fields as (

    select * from {{ ref('data_capture_fields') }}

),

earlier as (

    -- the field at the latest extract before the one reported
    select
        reported.service_code,
        reported.extract_date,
        reported.field,
        previous.percent as previous_percent
    from capture as reported
    inner join capture as previous
        on
            reported.service_code = previous.service_code
            and reported.field = previous.field
            and reported.extract_date > previous.extract_date
    qualify row_number() over (
        partition by reported.service_code, reported.extract_date, reported.field
        order by previous.extract_date desc
    ) = 1

),

lowest as (

    -- the lowest percent of the trend (every extract up to the one reported)
    select
        reported.service_code,
        reported.extract_date,
        reported.field,
        min(trend.percent) as lowest_percent
    from capture as reported
    inner join capture as trend
        on
            reported.service_code = trend.service_code
            and reported.field = trend.field
            and reported.extract_date >= trend.extract_date
    group by reported.service_code, reported.extract_date, reported.field

),

final as (

    select
        capture.service_code,
        capture.extract_date,
        capture.field,
        capture.field_order,
        coalesce(fields.label, capture.field) as label,
        capture.population,
        capture.recorded,
        capture.total,
        capture.percent,
        capture.threshold_percent,
        capture.meets_threshold,
        earlier.service_code is not null as has_earlier_extract,
        earlier.previous_percent,
        -- the trend's scale runs to 100% from a round number below its lowest value and
        -- the standard, so that a change of a few points shows
        greatest(
            0.0,
            floor(
                (coalesce(least(lowest.lowest_percent, capture.threshold_percent), 0) - 5) / 10
            ) * 10
        ) as trend_floor_percent
    from capture
    left join fields
        on capture.field = fields.field
    left join earlier
        on
            capture.service_code = earlier.service_code
            and capture.extract_date = earlier.extract_date
            and capture.field = earlier.field
    left join lowest
        on
            capture.service_code = lowest.service_code
            and capture.extract_date = lowest.extract_date
            and capture.field = lowest.field

)

select * from final
{%- endmacro %}


{#- One row per service, reported extract, data-capture field and extract of its trend:
    the field's percent at each extract loaded up to the one reported (null where the
    field was not reported then, or, published, could not be shown), for the sparkline. -#}
{% macro report_capture_trend(data_capture) -%}
with

capture as (

    select * from {{ data_capture }}

),

loaded as (

    select distinct
        service_code,
        extract_date
    from capture

),

trend_extracts as (

    select
        reported.service_code,
        reported.extract_date,
        earlier.extract_date as trend_extract_date
    from loaded as reported
    inner join loaded as earlier
        on
            reported.service_code = earlier.service_code
            and reported.extract_date >= earlier.extract_date

),

final as (

    select
        reported.service_code,
        reported.extract_date,
        reported.field,
        trend_extracts.trend_extract_date,
        trend.percent,
        trend.percent < reported.threshold_percent as is_below_threshold
    from capture as reported
    inner join trend_extracts
        on
            reported.service_code = trend_extracts.service_code
            and reported.extract_date = trend_extracts.extract_date
    left join capture as trend
        on
            reported.service_code = trend.service_code
            and reported.field = trend.field
            and trend_extracts.trend_extract_date = trend.extract_date

)

select * from final
{%- endmacro %}


{#- One row per service, extract and figure of the London comparison (table 7.1.18), with
    how the figure is printed: as a count of clients or PHPs (published: controlled), or
    to its number of decimals. -#}
{% macro report_london_comparison(london_comparison) -%}
with

london as (

    select * from {{ london_comparison }}

),

figure_formats as (

    select *
    from (
        values
        ('total_clients', true, 0),
        ('total_health_trainers', false, 0),
        ('total_wte', false, 1),
        ('clients_per_wte', false, 1),
        ('total_phps', true, 0),
        ('php_to_client_ratio', false, 2),
        ('phps_per_wte', false, 1)
    ) as figure_formats (figure_id, is_count, decimals)

),

final as (

    select
        london.service_code,
        london.extract_date,
        london.figure_id,
        london.figure,
        london.figure_order,
        london.service_value,
        london.is_per_period,
        london.service_value_annualised,
        london.months_of_operation,
        coalesce(figure_formats.is_count, false) as is_count,
        coalesce(figure_formats.decimals, 1) as decimals,
        london.london_services,
        london.london_first_year_services,
        london.london_six_month_service,
        london.london_period
    from london
    left join figure_formats
        on london.figure_id = figure_formats.figure_id

)

select * from final
{%- endmacro %}


{#- One row per service, extract and wellbeing instrument: the wellbeing outcomes table of
    the report (follow-up completeness, % improved with its interval, mean change with its
    interval) and the completeness line under each change table, with the change
    measure's title and table number. -#}
{% macro report_wellbeing_outcomes(wellbeing_outcomes) -%}
with

outcomes as (

    select * from {{ wellbeing_outcomes }}

),

instruments as (

    select * from {{ ref('wellbeing_instruments') }}

),

measures as (

    select * from {{ ref('measures') }}

),

final as (

    select
        outcomes.service_code,
        outcomes.extract_date,
        outcomes.instrument,
        measures.measure_id,
        measures.measure_order,
        measures.report_table,
        regexp_replace(measures.title, ' change$', '') as instrument_title,
        outcomes.clients_with_baseline,
        outcomes.clients_with_follow_up,
        outcomes.clients_paired,
        outcomes.follow_up_percent,
        outcomes.improved,
        outcomes.improved_percent,
        outcomes.improved_ci_lower,
        outcomes.improved_ci_upper,
        outcomes.mean_change,
        outcomes.mean_change_ci_lower,
        outcomes.mean_change_ci_upper
    from outcomes
    inner join instruments on outcomes.instrument = instruments.instrument
    inner join measures on instruments.measure_id = measures.measure_id

)

select * from final
{%- endmacro %}


{#- One row per service, extract and activity measure (seed activity_measures): the
    report's month-on-month and year-to-date table, from activity by month (every month's
    count as the extract's own records date it). This month is the extract's month; the
    previous month and the same month a year before are null where activity by month does
    not reach them. The year to date runs from the start of the NHS financial year
    (var('financial_year_start_month'), April) to the extract's month, both included; the
    same period of the previous year is given only where activity by month covers every
    month of it (the service had begun by its first month). A sum over months with a count
    withheld (null, as published counts may be) is null.

    published=true: `monthly_activity` is published.monthly_activity (controlled counts:
    0, suppressed as null, or rounded to var('disclosure_rounding_base')). Every sum and
    change is then one of the published figures, null when a month it takes is suppressed,
    and three more columns say how far a sum of rounded months can be from the true count
    (a month published as 0 is exactly 0; any other is within half the base of it); the
    change in percent is left out (null): a ratio of two such sums can even have the wrong
    sign (docs/decisions.md). -#}
{% macro report_activity(monthly_activity, published=false) -%}
{%- set start_month = var('financial_year_start_month') %}
{%- if published %}
    {%- set month_margin = disclosure_settings().base // 2 %}
{%- endif %}
with

monthly as (

    select * from {{ monthly_activity }}

),

activity_measures as (

    select * from {{ ref('activity_measures') }}

),

monthly_counts as (

    select *
    from monthly
    unpivot include nulls (
        month_value for measure_id in (
            columns(* exclude (service_code, extract_date, month{{ ', has_suppressed_count' if published }}))
        )
    )

),

extract_months as (

    select
        service_code,
        extract_date,
        min(month) as first_month,
        date_trunc('month', extract_date)::date as this_month,
        -- the first day of the NHS financial year the extract's month is in
        make_date(
            year(extract_date) - (month(extract_date) < {{ start_month }})::integer,
            {{ start_month }},
            1
        ) as year_to_date_start
    from monthly
    group by service_code, extract_date

),

periods as (

    select
        service_code,
        extract_date,
        first_month,
        this_month,
        (this_month - interval 1 month)::date as previous_month,
        (this_month - interval 12 month)::date as year_before_month,
        year_to_date_start,
        (year_to_date_start - interval 12 month)::date as previous_year_to_date_start,
        (this_month - interval 12 month)::date as previous_year_to_date_end,
        date_diff('month', year_to_date_start, this_month) + 1 as year_to_date_months,
        -- the extract's month is whole only when the extract is dated its last day
        extract_date = last_day(extract_date) as month_is_complete
    from extract_months

),

compared as (

    select
        periods.service_code,
        periods.extract_date,
        monthly_counts.measure_id,
        any_value(periods.this_month) as this_month,
        any_value(periods.month_is_complete) as month_is_complete,
        any_value(periods.previous_month) as previous_month,
        any_value(periods.year_before_month) as year_before_month,
        any_value(periods.year_to_date_start) as year_to_date_start,
        any_value(periods.year_to_date_months) as year_to_date_months,
        any_value(periods.previous_year_to_date_start) as previous_year_to_date_start,
        any_value(periods.previous_year_to_date_end) as previous_year_to_date_end,
        any_value(periods.first_month <= periods.previous_year_to_date_start)
            as previous_year_is_covered,
        max(monthly_counts.month_value) filter (
            where monthly_counts.month = periods.this_month
        ) as this_month_value,
        count(*) filter (where monthly_counts.month = periods.previous_month) = 1
            as has_previous_month,
        max(monthly_counts.month_value) filter (
            where monthly_counts.month = periods.previous_month
        ) as previous_month_value,
        count(*) filter (where monthly_counts.month = periods.year_before_month) = 1
            as has_year_before_month,
        max(monthly_counts.month_value) filter (
            where monthly_counts.month = periods.year_before_month
        ) as year_before_value,
        -- null when a month of the period has its count withheld
        case
            when
                count(monthly_counts.month_value) filter (
                    where monthly_counts.month between periods.year_to_date_start
                    and periods.this_month
                )
                = count(*) filter (
                    where monthly_counts.month between periods.year_to_date_start
                    and periods.this_month
                )
                then coalesce(sum(monthly_counts.month_value) filter (
                    where monthly_counts.month between periods.year_to_date_start
                    and periods.this_month
                ), 0)
        end as year_to_date_value,
        case
            when
                count(monthly_counts.month_value) filter (
                    where monthly_counts.month between periods.previous_year_to_date_start
                    and periods.previous_year_to_date_end
                )
                = count(*) filter (
                    where monthly_counts.month between periods.previous_year_to_date_start
                    and periods.previous_year_to_date_end
                )
                then coalesce(sum(monthly_counts.month_value) filter (
                    where monthly_counts.month between periods.previous_year_to_date_start
                    and periods.previous_year_to_date_end
                ), 0)
        end as previous_year_to_date_sum{{ ',' if published }}
        {%- if published %}
        -- how far each sum of rounded months can be from the true count
        sum(case when monthly_counts.month_value > 0 then {{ month_margin }} else 0 end) filter (
            where monthly_counts.month between periods.year_to_date_start
            and periods.this_month
        ) as year_to_date_margin_sum,
        sum(case when monthly_counts.month_value > 0 then {{ month_margin }} else 0 end) filter (
            where monthly_counts.month between periods.previous_year_to_date_start
            and periods.previous_year_to_date_end
        ) as previous_year_to_date_margin_sum
        {%- endif %}
    from periods
    inner join monthly_counts
        on
            periods.service_code = monthly_counts.service_code
            and periods.extract_date = monthly_counts.extract_date
    group by periods.service_code, periods.extract_date, monthly_counts.measure_id

),

final as (

    select
        compared.service_code,
        compared.extract_date,
        compared.measure_id,
        activity_measures.measure_order,
        activity_measures.label,
        activity_measures.unit,
        compared.this_month,
        compared.month_is_complete,
        compared.this_month_value::bigint as this_month_value,
        compared.previous_month,
        compared.has_previous_month,
        compared.previous_month_value::bigint as previous_month_value,
        (compared.this_month_value - compared.previous_month_value)::bigint
            as month_change,
        compared.year_before_month,
        compared.has_year_before_month,
        compared.year_before_value::bigint as year_before_value,
        (compared.this_month_value - compared.year_before_value)::bigint as year_change,
        compared.year_to_date_start,
        compared.year_to_date_months::bigint as year_to_date_months,
        compared.year_to_date_value::bigint as year_to_date_value,
        compared.previous_year_to_date_start,
        compared.previous_year_to_date_end,
        compared.previous_year_is_covered,
        case
            when compared.previous_year_is_covered
                then compared.previous_year_to_date_sum
        end::bigint as previous_year_to_date_value,
        case
            when compared.previous_year_is_covered
                then compared.year_to_date_value - compared.previous_year_to_date_sum
        end::bigint as year_to_date_change,
        {% if published -%}
            -- a ratio of two sums of rounded months: not shown
            null::double as year_to_date_change_percent,
            case
                when compared.year_to_date_value is not null
                    then coalesce(compared.year_to_date_margin_sum, 0)
            end::bigint as year_to_date_margin,
            case
                when compared.previous_year_is_covered and compared.previous_year_to_date_sum is not null
                    then coalesce(compared.previous_year_to_date_margin_sum, 0)
            end::bigint as previous_year_to_date_margin,
            case
                when compared.previous_year_is_covered
                    and compared.year_to_date_value is not null
                    and compared.previous_year_to_date_sum is not null
                    then coalesce(compared.year_to_date_margin_sum, 0)
                    + coalesce(compared.previous_year_to_date_margin_sum, 0)
            end::bigint as year_to_date_change_margin
        {%- else -%}
            case
                when compared.previous_year_is_covered
                    then 100.0 * (compared.year_to_date_value - compared.previous_year_to_date_sum)
                    / nullif(compared.previous_year_to_date_sum, 0)
            end as year_to_date_change_percent
        {%- endif %}
    from compared
    inner join activity_measures
        on compared.measure_id = activity_measures.measure_id

)

select * from final
{%- endmacro %}


{#- One row per service, extract and item of the report's first screen, "Needs attention
    this month": what the manager should look at first, in the order of the seed
    attention_kinds (concerns, then improvements), each with the parts of its sentence
    (the template words them) and the report section that shows it. From the report's
    data capture (fields below their standard) and headline cards (targets the service is
    not on course for, decided where the cards decide them), and, when given, the SPC
    charts (a special cause in the extract's month; a chart whose limits lie wholly on the
    wrong side of its target) and the inequalities (a gap significant in this extract and
    larger than at the service's previous extract by var('attention_gap_widening_points')
    points or more: between the most and the least deprived quintile, or between a group
    of another dimension and the whole service). No row for an extract: nothing needs
    attention. -#}
{% macro report_attention(data_capture, headlines, spc=none, inequalities=none) -%}
{%- set widening_points = var('attention_gap_widening_points') %}
with

capture as (

    select * from {{ data_capture }}

),

headlines as (

    select * from {{ headlines }}

),

attention_kinds as (

    select * from {{ ref('attention_kinds') }}

),
{%- if spc is not none %}

spc as (

    select * from {{ spc }}

),

spc_indicators as (

    select * from {{ ref('spc_indicators') }}

),
{%- endif %}
{%- if inequalities is not none %}

inequalities as (

    select * from {{ inequalities }}

),

inequality_indicators as (

    select * from {{ ref('inequality_indicators') }}

),

inequality_dimensions as (

    select * from {{ ref('inequality_dimensions') }}

),
{%- endif %}

-- every column an item may have, typed; no row
item_columns as (

    select
        null::varchar as service_code,
        null::date as extract_date,
        null::varchar as attention_kind,
        null::varchar as subject_id,
        null::varchar as subject,
        null::integer as subject_order,
        null::integer as group_order,
        null::varchar as unit,
        null::double as value,
        null::double as reference_value,
        null::double as previous_value,
        null::double as projected_value,
        null::bigint as numerator,
        null::bigint as denominator,
        null::date as month,
        null::varchar as rule,
        null::double as lower_process_limit,
        null::double as upper_process_limit,
        null::double as gap_points,
        null::varchar as dimension,
        null::varchar as dimension_label,
        null::varchar as group_name,
        null::varchar as comparison_group,
        null::date as previous_extract_date
    where false

),

capture_below_standard as (

    select
        service_code,
        extract_date,
        'capture_below_standard' as attention_kind,
        field as subject_id,
        label as subject,
        field_order as subject_order,
        'percent' as unit,
        percent as value,
        threshold_percent as reference_value,
        previous_percent as previous_value,
        recorded as numerator,
        total as denominator
    from capture
    where not meets_threshold

),

targets_off_track as (

    -- the headline cards' own verdicts (published: decided on the true figures)
    select
        service_code,
        extract_date,
        'target_off_track' as attention_kind,
        card_id as subject_id,
        label as subject,
        card_order as subject_order,
        value,
        reference_value,
        projected_value
    from headlines
    where status = 'below'

),
{%- if spc is not none %}

special_causes as (

    -- a special cause in the extract's month: 'special_cause_concern' or
    -- 'special_cause_improvement' (a neutral indicator's is neither, and not listed)
    select
        spc.service_code,
        spc.extract_date,
        'special_cause_' || spc.special_cause as attention_kind,
        spc.indicator_id as subject_id,
        spc_indicators.title as subject,
        spc.indicator_order as subject_order,
        spc_indicators.unit,
        spc.value,
        spc.mean as reference_value,
        spc.month,
        spc.rule,
        spc.lower_process_limit,
        spc.upper_process_limit
    from spc
    inner join spc_indicators
        on spc.indicator_id = spc_indicators.indicator_id
    where
        spc.month = date_trunc('month', spc.extract_date)
        and spc.special_cause is not null

),

assurance_failures as (

    -- a chart's assurance is the same on every row: its latest month's
    select
        spc.service_code,
        spc.extract_date,
        'assurance_fail' as attention_kind,
        spc.indicator_id as subject_id,
        spc_indicators.title as subject,
        spc.indicator_order as subject_order,
        spc_indicators.unit,
        spc.mean as value,
        spc.target as reference_value,
        spc.lower_process_limit,
        spc.upper_process_limit
    from spc
    inner join spc_indicators
        on spc.indicator_id = spc_indicators.indicator_id
    where spc.assurance_icon = 'fail'
    qualify row_number() over (
        partition by spc.service_code, spc.extract_date, spc.indicator_id
        order by spc.month desc
    ) = 1

),
{%- endif %}
{%- if inequalities is not none %}

rates as (

    -- the indicators that are rates within a group (reach is a share of the service),
    -- in the groups that may be compared
    select
        inequalities.*,
        inequality_indicators.numerator as indicator_label
    from inequalities
    inner join inequality_indicators
        on inequalities.indicator_id = inequality_indicators.indicator_id
    where
        inequalities.is_comparable
        and inequalities.service_percent is not null
        and inequalities.percent is not null

),

quintile_ends as (

    -- the most and the least deprived quintiles
    select
        service_code,
        extract_date,
        indicator_id,
        dimension,
        any_value(indicator_label) as indicator_label,
        any_value(indicator_order) as indicator_order,
        count(*) as quintiles,
        arg_min(group_name, group_order) as most_deprived_group,
        arg_min(group_order, group_order) as most_deprived_order,
        arg_min(percent, group_order) as most_deprived_percent,
        arg_min(ci_lower, group_order) as most_deprived_ci_lower,
        arg_min(ci_upper, group_order) as most_deprived_ci_upper,
        arg_max(group_name, group_order) as least_deprived_group,
        arg_max(percent, group_order) as least_deprived_percent,
        arg_max(ci_lower, group_order) as least_deprived_ci_lower,
        arg_max(ci_upper, group_order) as least_deprived_ci_upper
    from rates
    where dimension = 'deprivation_quintile'
    group by service_code, extract_date, indicator_id, dimension

),

gaps as (

    -- the most deprived against the least deprived: significant when their 95%
    -- intervals do not overlap
    select
        service_code,
        extract_date,
        indicator_id,
        indicator_label,
        indicator_order,
        dimension,
        most_deprived_group as group_name,
        most_deprived_order as group_order,
        least_deprived_group as comparison_group,
        most_deprived_percent as percent,
        least_deprived_percent as reference_percent,
        least_deprived_percent - most_deprived_percent as gap,
        most_deprived_ci_upper < least_deprived_ci_lower
        or least_deprived_ci_upper < most_deprived_ci_lower as is_significant
    from quintile_ends
    where quintiles > 1

    union all

    -- a group of another dimension against the whole service: significant when the
    -- group's 95% interval lies wholly above or below the service's percent
    select
        service_code,
        extract_date,
        indicator_id,
        indicator_label,
        indicator_order,
        dimension,
        group_name,
        group_order,
        null as comparison_group,
        percent,
        service_percent as reference_percent,
        percent - service_percent as gap,
        coalesce(service_comparison in ('higher', 'lower'), false) as is_significant
    from rates
    where dimension != 'deprivation_quintile'

),

previous_extracts as (

    select
        service_code,
        extract_date,
        lag(extract_date) over (
            partition by service_code order by extract_date
        ) as previous_extract_date
    from (select distinct service_code, extract_date from inequalities)

),

widening_gaps as (

    select
        gaps.service_code,
        gaps.extract_date,
        'widening_gap' as attention_kind,
        gaps.indicator_id || ':' || gaps.dimension || ':' || gaps.group_name as subject_id,
        gaps.indicator_label as subject,
        gaps.indicator_order as subject_order,
        gaps.group_order,
        'percent' as unit,
        gaps.percent as value,
        gaps.reference_percent as reference_value,
        abs(earlier.gap) as previous_value,
        abs(gaps.gap) as gap_points,
        gaps.dimension,
        inequality_dimensions.label as dimension_label,
        gaps.group_name,
        gaps.comparison_group,
        previous_extracts.previous_extract_date
    from gaps
    inner join previous_extracts
        on
            gaps.service_code = previous_extracts.service_code
            and gaps.extract_date = previous_extracts.extract_date
    inner join gaps as earlier
        on
            gaps.service_code = earlier.service_code
            and previous_extracts.previous_extract_date = earlier.extract_date
            and gaps.indicator_id = earlier.indicator_id
            and gaps.dimension = earlier.dimension
            and gaps.group_name = earlier.group_name
    left join inequality_dimensions
        on gaps.dimension = inequality_dimensions.dimension
    where
        gaps.is_significant
        and abs(gaps.gap) - abs(earlier.gap) >= {{ widening_points }}

),
{%- endif %}

items as (

    select * from item_columns
    union all by name
    select * from capture_below_standard
    union all by name
    select * from targets_off_track
    {%- if spc is not none %}
    union all by name
    select * from special_causes
    union all by name
    select * from assurance_failures
    {%- endif %}
    {%- if inequalities is not none %}
    union all by name
    select * from widening_gaps
    {%- endif %}

),

final as (

    select
        items.service_code,
        items.extract_date,
        row_number() over (
            partition by items.service_code, items.extract_date
            order by
                attention_kinds.kind_order,
                items.subject_order,
                items.group_order nulls first,
                items.subject_id
        )::integer as item_order,
        items.attention_kind || ':' || items.subject_id as item_id,
        items.attention_kind,
        attention_kinds.severity,
        attention_kinds.label as kind_label,
        attention_kinds.section_id,
        items.subject_id,
        items.subject,
        items.unit,
        items.value,
        items.reference_value,
        items.previous_value,
        items.projected_value,
        items.numerator::bigint as numerator,
        items.denominator::bigint as denominator,
        items.month,
        items.rule,
        items.lower_process_limit,
        items.upper_process_limit,
        items.gap_points,
        items.dimension,
        items.dimension_label,
        items.group_name,
        items.comparison_group,
        items.previous_extract_date
    from items
    inner join attention_kinds
        on items.attention_kind = attention_kinds.attention_kind

)

select * from final
{%- endmacro %}
