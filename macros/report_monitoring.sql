{#- The report models of the report's "Monthly monitoring" section (issue 18): the SPC
    charts, the inequality charts and indices, and the funnel plots, as the page
    (src/dcrs/templates/monitoring.html.j2) draws them. Each macro builds one model from
    the relation it is given, so that a published counterpart is one call on the published
    table (models/marts/report: the marts). Every figure, scale and sentence is decided
    here; the templates only place and word them. -#}


{#- One row per service, extract, indicator and month of an SPC chart (marts.spc): the
    point, the chart's mean, process limits and target, whether the point is a special
    cause, and where it goes: the month's position along the chart and the chart's
    vertical scale (axis_min to axis_max, percent charts kept within 0-100).
    published=true: `spc` is published.spc (controlled counts), each month also says
    whether its count is suppressed (is_suppressed: no point, shown as suppressed), and the
    scale runs between multiples of the rounding base (so no tick reads as a count). -#}
{% macro report_spc(spc, published=false) -%}
{%- if published %}
    {%- set axis_step = disclosure_settings().base %}
{%- endif %}
with

spc as (

    select * from {{ spc }}

),

indicators as (

    select * from {{ ref('spc_indicators') }}

),

chart_ranges as (

    -- every value the chart draws: points, mean, limits and target
    select
        spc.service_code,
        spc.extract_date,
        spc.indicator_id,
        count(*) as months,
        least(
            min(spc.value),
            min(spc.mean),
            min(spc.lower_process_limit),
            min(spc.target)
        ) as lowest,
        greatest(
            max(spc.value),
            max(spc.mean),
            max(spc.upper_process_limit),
            max(spc.target)
        ) as highest
    from spc
    group by spc.service_code, spc.extract_date, spc.indicator_id

),

chart_scales as (

    select
        chart_ranges.service_code,
        chart_ranges.extract_date,
        chart_ranges.indicator_id,
        chart_ranges.months,
        indicators.unit,
        -- a margin of a tenth of the range (at least 1) either side
        {% if published -%}
            -- out to multiples of the rounding base: the page's ticks are then no count
            floor(
                (
                    chart_ranges.lowest
                    - greatest((chart_ranges.highest - chart_ranges.lowest) / 10, 1.0)
                ) / {{ axis_step }}
            ) * {{ axis_step }} as padded_min,
            ceil(
                (
                    chart_ranges.highest
                    + greatest((chart_ranges.highest - chart_ranges.lowest) / 10, 1.0)
                ) / {{ axis_step }}
            ) * {{ axis_step }} as padded_max
        {%- else -%}
            chart_ranges.lowest
            - greatest((chart_ranges.highest - chart_ranges.lowest) / 10, 1.0) as padded_min,
            chart_ranges.highest
            + greatest((chart_ranges.highest - chart_ranges.lowest) / 10, 1.0) as padded_max
        {%- endif %}
    from chart_ranges
    inner join indicators on chart_ranges.indicator_id = indicators.indicator_id

),

final as (

    select
        spc.service_code,
        spc.extract_date,
        spc.indicator_id,
        spc.indicator_order,
        spc.month,
        (
            row_number() over (
                partition by spc.service_code, spc.extract_date, spc.indicator_id
                order by spc.month
            ) - 1
        )::integer as month_index,
        chart_scales.months::integer as months,
        spc.value,
        spc.value is not null as is_point,
        spc.mean,
        spc.lower_process_limit,
        spc.upper_process_limit,
        spc.target,
        spc.special_cause,
        spc.rule,
        {% if published -%}
            spc.is_suppressed,
        {% endif -%}
        greatest(coalesce(chart_scales.padded_min, 0.0), 0.0) as axis_min,
        case
            when chart_scales.unit = 'percent'
                then least(coalesce(chart_scales.padded_max, 100.0), 100.0)
            else coalesce(chart_scales.padded_max, 1.0)
        end as axis_max
    from spc
    inner join chart_scales
        on
            spc.service_code = chart_scales.service_code
            and spc.extract_date = chart_scales.extract_date
            and spc.indicator_id = chart_scales.indicator_id

)

select * from final
{%- endmacro %}


{#- A number as the monitoring section prints it: one decimal place, with `%` for a
    percent indicator. -#}
{% macro spc_value_text(value, unit) -%}
    case
        when {{ value }} is null then null
        when {{ unit }} = 'percent' then printf('%.1f%%', {{ value }})
        else printf('%.1f', {{ value }})
    end
{%- endmacro %}


{#- One row per service, extract and indicator of marts.spc: the chart's title, which way
    is better, Making Data Count's two icons (the letter, the colour class and the words of
    each), the latest month and value, the special causes, the short-chart warning, and
    what the chart says, in a sentence.
    published=true: `spc` is published.spc, drawn from the controlled counts. A withheld
    chart (chart_status 'withheld') has no icon, no warning and a summary that says it is
    withheld and why; the latest month is the chart's last, shown as `*` when its count
    is suppressed; the summary counts the suppressed months. -#}
{% macro report_spc_charts(spc, published=false) -%}
with

spc as (

    select * from {{ spc }}

),

indicators as (

    select * from {{ ref('spc_indicators') }}

),

latest_points as (

    select
        service_code,
        extract_date,
        indicator_id,
        month as latest_month,
        value as latest_value{{ ',' if published }}
        {%- if published %}
        is_suppressed as latest_is_suppressed
        {%- endif %}
    from spc
    where value is not null{{ ' or is_suppressed' if published }}
    qualify row_number() over (
        partition by service_code, extract_date, indicator_id
        order by month desc
    ) = 1

),

charts as (

    select
        spc.service_code,
        spc.extract_date,
        spc.indicator_id,
        any_value(spc.indicator_order) as indicator_order,
        any_value(spc.improvement_direction) as improvement_direction,
        any_value(spc.variation_icon) as variation_icon,
        any_value(spc.assurance_icon) as assurance_icon,
        any_value(spc.mean) as mean,
        any_value(spc.lower_process_limit) as lower_process_limit,
        any_value(spc.upper_process_limit) as upper_process_limit,
        any_value(spc.target) as target,
        any_value(spc.chart_points) as chart_points,
        any_value(spc.warning) as warning,
        {% if published -%}
            any_value(spc.chart_status) as chart_status,
            any_value(spc.withheld_reason) as withheld_reason,
            any_value(spc.suppressed_months) as suppressed_months,
        {% endif -%}
        min(spc.month) as first_month,
        max(spc.month) as last_month,
        count(spc.special_cause) filter (where spc.special_cause = 'improvement')
            as improvement_points,
        count(spc.special_cause) filter (where spc.special_cause = 'concern')
            as concern_points,
        count(spc.special_cause) filter (where spc.special_cause = 'neither')
            as neutral_points,
        string_agg(distinct spc.rule, ', ' order by spc.rule) as rules
    from spc
    group by spc.service_code, spc.extract_date, spc.indicator_id

),

described as (

    select
        charts.*,
        indicators.title,
        indicators.unit,
        indicators.definition,
        latest_points.latest_month,
        latest_points.latest_value,
        {% if published -%}
            coalesce(latest_points.latest_is_suppressed, false) as latest_is_suppressed,
            charts.chart_status = 'withheld' as is_withheld,
        {% else -%}
            false as latest_is_suppressed,
            false as is_withheld,
            null::varchar as withheld_reason,
        {% endif -%}
        case charts.improvement_direction
            when 'increase' then 'higher is better'
            when 'decrease' then 'lower is better'
            else 'neither direction is better'
        end as polarity,
        case
            when charts.variation_icon like '%_high' then 'H'
            when charts.variation_icon like '%_low' then 'L'
        end as variation_letter,
        case
            when charts.variation_icon is null then 'none'
            when charts.variation_icon = 'common_cause' then 'common'
            else split_part(charts.variation_icon, '_', 1)
        end as variation_class,
        case charts.variation_icon
            when 'common_cause' then 'Common cause variation'
            when 'improvement_high' then 'Special cause improvement, high'
            when 'improvement_low' then 'Special cause improvement, low'
            when 'concern_high' then 'Special cause concern, high'
            when 'concern_low' then 'Special cause concern, low'
            when 'neutral_high' then 'Special cause variation, high'
            when 'neutral_low' then 'Special cause variation, low'
            else 'No variation icon: no month has a value yet'
        end as variation_label_of_icon,
        case charts.assurance_icon
            when 'pass' then 'P'
            when 'fail' then 'F'
            when 'inconsistent' then '?'
        end as assurance_letter,
        coalesce(charts.assurance_icon, 'none') as assurance_class,
        case charts.assurance_icon
            when 'pass' then 'Assurance: the target is consistently met'
            when 'fail' then 'Assurance: the target is consistently missed'
            when 'inconsistent' then 'Assurance: the target is met in some months, missed in others'
            else 'No assurance icon: no target'
        end as assurance_label_of_icon
    from charts
    inner join indicators on charts.indicator_id = indicators.indicator_id
    left join latest_points
        on
            charts.service_code = latest_points.service_code
            and charts.extract_date = latest_points.extract_date
            and charts.indicator_id = latest_points.indicator_id

),

worded as (

    select
        described.*,
        case
            when described.is_withheld then 'No variation icon: the chart is withheld'
            else described.variation_label_of_icon
        end as variation_label,
        case
            when described.is_withheld then 'No assurance icon: the chart is withheld'
            else described.assurance_label_of_icon
        end as assurance_label,
        case
            when described.latest_is_suppressed then '*'
            else {{ spc_value_text('described.latest_value', 'described.unit') }}
        end as latest_value_text,
        {{ spc_value_text('described.mean', 'described.unit') }} as mean_text,
        {{ spc_value_text('described.target', 'described.unit') }} as target_text,
        case
            when described.is_withheld
                then 'Chart withheld from the published report: ' || described.withheld_reason
                || '. Its published months are shown, without a mean, process limits or special causes.'
            when described.variation_icon is null
                then 'No month has a value yet.'
            when described.variation_icon = 'common_cause'
                then 'Common cause variation: the latest month is within what this service usually sees.'
            when described.variation_class = 'improvement'
                then 'Special cause improvement: the latest month is unusually '
                || case described.variation_letter when 'H' then 'high' else 'low' end || ', for the better.'
            when described.variation_class = 'concern'
                then 'Special cause concern: the latest month is unusually '
                || case described.variation_letter when 'H' then 'high' else 'low' end || ', for the worse.'
            else 'Special cause variation: the latest month is unusually '
                || case described.variation_letter when 'H' then 'high' else 'low' end || '.'
        end as variation_sentence,
        case described.assurance_icon
            when 'pass' then 'The target ({target}) lies beyond the process limits on the worse side: every month meets it as things are.'
            when 'fail' then 'The target ({target}) lies beyond the process limits on the better side: it will not be met unless something changes.'
            when 'inconsistent' then 'The target ({target}) lies within the process limits (or the chart has none): it will be met in some months and missed in others.'
        end as assurance_template
    from described

),

final as (

    select
        service_code,
        extract_date,
        indicator_id,
        indicator_order,
        title,
        unit,
        definition,
        improvement_direction,
        polarity,
        variation_icon,
        variation_letter,
        variation_class,
        variation_label,
        assurance_icon,
        assurance_letter,
        assurance_class,
        assurance_label,
        latest_month,
        latest_value,
        latest_value_text,
        mean,
        mean_text,
        lower_process_limit,
        upper_process_limit,
        target,
        target_text,
        chart_points,
        first_month,
        last_month,
        (improvement_points + concern_points + neutral_points)::integer as special_cause_points,
        improvement_points::integer as improvement_points,
        concern_points::integer as concern_points,
        rules,
        {% if published -%}
            -- a withheld chart has no limits, trial or not
            case when not is_withheld then warning end as warning,
            is_withheld,
            withheld_reason,
            suppressed_months::integer as suppressed_months,
        {% else -%}
            warning,
        {% endif -%}
        concat_ws(
            ' ',
            variation_sentence,
            {% if published -%}
                case
                    when suppressed_months = 1
                        then '1 month''s count is suppressed: it is no point of the chart.'
                    when suppressed_months > 1
                        then suppressed_months::varchar
                        || ' months'' counts are suppressed: they are no points of the chart.'
                end,
            {% endif -%}
            case
                when improvement_points + concern_points + neutral_points > 0
                    then (improvement_points + concern_points + neutral_points)::varchar
                    || ' of ' || chart_points::varchar || ' months '
                    || case
                        when improvement_points + concern_points + neutral_points = 1
                            then 'is a special cause ('
                        else 'are special causes ('
                    end
                    || replace(rules, '_', ' ') || ').'
            end,
            replace(assurance_template, '{target}', target_text)
        ) as summary
    from worded

)

select * from final
{%- endmacro %}


{#- One row per service, extract, indicator, dimension and group of marts.inequalities,
    as the inequality charts show them: the indicator's and dimension's labels, the
    group's percent with its 95% Wilson interval, the comparison the page states (reach
    against its benchmark, the other indicators against the service's percent), whether
    the group is charted, and the chart's scale (0 to axis_max). Unknown groups are kept,
    apart: is_comparable false, never compared. published=true: `inequalities` is
    published.inequalities (controlled counts), and each group also says whether its count
    is suppressed (is_suppressed: not charted, shown as suppressed). -#}
{% macro report_inequalities(inequalities, published=false) -%}
with

inequalities as (

    select * from {{ inequalities }}

),

indicators as (

    select * from {{ ref('inequality_indicators') }}

),

dimensions as (

    select * from {{ ref('inequality_dimensions') }}

),

scales as (

    -- each chart (indicator and dimension) runs from 0 to the next 10% above its
    -- highest interval or benchmark
    select
        service_code,
        extract_date,
        indicator_id,
        dimension,
        least(
            100,
            greatest(
                10,
                ceil(greatest(max(ci_upper), max(benchmark_percent), max(percent)) / 10) * 10
            )
        )::integer as axis_max
    from inequalities
    group by service_code, extract_date, indicator_id, dimension

),

final as (

    select
        inequalities.service_code,
        inequalities.extract_date,
        inequalities.indicator_id,
        inequalities.indicator_order,
        case inequalities.indicator_id
            when 'reach' then 'Reach: share of the service''s clients'
            when 'php_started' then 'Personal Health Plans: eligible clients with a plan'
            when 'goal_achieved_or_part' then 'Goals achieved or part achieved'
            when 'wellbeing_improved' then 'Wellbeing (WHO-5) improved'
            else inequalities.indicator_id
        end as indicator_title,
        indicators.numerator || ', of ' || indicators.denominator as indicator_definition,
        inequalities.dimension,
        inequalities.dimension_order,
        dimensions.label as dimension_label,
        inequalities.group_name,
        inequalities.group_order,
        inequalities.n,
        inequalities.denominator,
        inequalities.percent,
        inequalities.ci_lower,
        inequalities.ci_upper,
        inequalities.is_comparable,
        inequalities.percent is not null as is_charted,
        {% if published -%}
            inequalities.is_suppressed,
        {% endif -%}
        inequalities.service_percent,
        inequalities.benchmark_name,
        inequalities.benchmark_percent,
        case
            when not inequalities.is_comparable then null
            when inequalities.indicator_id = 'reach' then inequalities.benchmark_comparison
            else inequalities.service_comparison
        end as comparison,
        case
            when not inequalities.is_comparable then null
            when inequalities.indicator_id = 'reach' and inequalities.benchmark_comparison is not null
                then inequalities.benchmark_name
            when inequalities.indicator_id != 'reach' and inequalities.service_comparison is not null
                then 'the service'
        end as compared_with,
        scales.axis_max
    from inequalities
    inner join indicators on inequalities.indicator_id = indicators.indicator_id
    inner join dimensions on inequalities.dimension = dimensions.dimension
    inner join scales
        on
            inequalities.service_code = scales.service_code
            and inequalities.extract_date = scales.extract_date
            and inequalities.indicator_id = scales.indicator_id
            and inequalities.dimension = scales.dimension

)

select * from final
{%- endmacro %}


{#- One row per service, extract and indicator of marts.inequality_indices: the slope and
    relative indices of inequality across the deprivation quintiles with their 95%
    intervals, in words, or why they are withheld. -#}
{% macro report_inequality_indices(inequality_indices) -%}
with

indices as (

    select * from {{ inequality_indices }}

),

indicators as (

    select * from {{ ref('inequality_indicators') }}

),

final as (

    select
        indices.service_code,
        indices.extract_date,
        indices.indicator_id,
        indicators.indicator_order,
        indices.records,
        indices.sii,
        indices.sii_lower,
        indices.sii_upper,
        indices.rii,
        indices.rii_lower,
        indices.rii_upper,
        indices.withheld_reason,
        indices.sii is null as is_withheld,
        case
            when indices.sii is null then null
            when indices.sii_lower > 0 then 'higher among the less deprived'
            when indices.sii_upper < 0 then 'higher among the more deprived'
            else 'no clear gradient across the quintiles'
        end as gradient,
        case
            when indices.sii is null
                then 'Slope and relative indices of inequality withheld: '
                || indices.withheld_reason || '.'
            else printf(
                'Slope index of inequality %+.1f percentage points (95%% interval %+.1f to %+.1f); relative index %.2f (95%% interval %.2f to %.2f): %s.',
                indices.sii,
                indices.sii_lower,
                indices.sii_upper,
                indices.rii,
                indices.rii_lower,
                indices.rii_upper,
                case
                    when indices.sii_lower > 0
                        then 'the percent is significantly higher among the less deprived'
                    when indices.sii_upper < 0
                        then 'the percent is significantly higher among the more deprived'
                    else 'the interval includes 0, so no clear gradient across the quintiles'
                end
            )
        end as summary
    from indices
    inner join indicators on indices.indicator_id = indicators.indicator_id

)

select * from final
{%- endmacro %}


{#- One row per service, extract, indicator and unit of a funnel plot (marts.funnel_trainers:
    the service's health trainers; marts.funnel_services: the warehouse's services, each
    row repeated for every service's report, with is_this_service marking the one reported):
    the unit's point, the centre line and limits at its denominator, its significance in
    words, and the plot's scale (denominators 0 to x_axis_max, percents y_axis_min to
    y_axis_max). `unit_column` names the unit (health_trainer_id or service_code). -#}
{% macro report_funnel_points(funnel, unit_column) -%}
with

funnel as (

    select * from {{ funnel }}

),

{% if unit_column == 'service_code' %}
reports as (

    -- the services' funnel belongs in every service's report
    select
        reported.service_code,
        reported.extract_date,
        funnel.indicator_id,
        funnel.service_code as unit_id,
        funnel.service_code = reported.service_code as is_this_service,
        funnel.n,
        funnel.denominator,
        funnel.percent,
        funnel.centre_percent,
        funnel.lower_95,
        funnel.upper_95,
        funnel.lower_998,
        funnel.upper_998,
        funnel.significance
    from funnel
    inner join (select distinct service_code, extract_date from funnel) as reported
        on true

),
{% else %}
reports as (

    select
        service_code,
        extract_date,
        indicator_id,
        {{ unit_column }} as unit_id,
        false as is_this_service,
        n,
        denominator,
        percent,
        centre_percent,
        lower_95,
        upper_95,
        lower_998,
        upper_998,
        significance
    from funnel

),
{% endif %}

scales as (

    select
        service_code,
        extract_date,
        indicator_id,
        count(*) filter (where significance is not null) as units_compared,
        greatest(ceil(max(denominator) * 1.1), 10)::integer as x_axis_max,
        greatest(
            0,
            floor(least(min(percent), min(lower_998), min(centre_percent)) / 5) * 5 - 5
        ) as y_axis_min,
        least(
            100,
            ceil(greatest(max(percent), max(upper_998), max(centre_percent)) / 5) * 5 + 5
        ) as y_axis_max
    from reports
    where denominator > 0
    group by service_code, extract_date, indicator_id

),

final as (

    select
        reports.service_code,
        reports.extract_date,
        reports.indicator_id,
        case reports.indicator_id
            when 'goal_achieved_or_part' then 1
            when 'php_started' then 2
            when 'data_capture' then 3
        end as indicator_order,
        case reports.indicator_id
            when 'goal_achieved_or_part' then 'Goals achieved or part achieved, of goals with an outcome'
            when 'php_started' then 'Eligible clients with a Personal Health Plan'
            when 'data_capture' then 'Data capture: required values recorded'
            else reports.indicator_id
        end as indicator_title,
        reports.unit_id,
        reports.is_this_service,
        reports.n,
        reports.denominator,
        reports.percent,
        reports.centre_percent,
        reports.lower_95,
        reports.upper_95,
        reports.lower_998,
        reports.upper_998,
        reports.significance,
        case
            when reports.significance is null then 'not compared'
            when reports.significance like 'High (0.001)' then 'above the 99.8% limit'
            when reports.significance like 'High (0.025)' then 'above the 95% limit'
            when reports.significance like 'Low (0.001)' then 'below the 99.8% limit'
            when reports.significance like 'Low (0.025)' then 'below the 95% limit'
            else 'within the limits'
        end as significance_text,
        scales.units_compared::integer as units_compared,
        scales.x_axis_max,
        scales.y_axis_min::double as y_axis_min,
        scales.y_axis_max::double as y_axis_max
    from reports
    inner join scales
        on
            reports.service_code = scales.service_code
            and reports.extract_date = scales.extract_date
            and reports.indicator_id = scales.indicator_id

)

select * from final
{%- endmacro %}


{#- One funnel-plot limit for a proportion at a denominator, in percent (PHEindicatormethods'
    sigma_adjustment, as dcrs.inequality_methods.funnel_proportion_limit computes it for
    the marts): the percent whose Wilson interval at z just reaches the centre line
    (`average`, 0-1), clamped to 0-100. `sign` is -1 for the lower limit, 1 for the upper. -#}
{% macro funnel_limit(denominator, average, z, sign) -%}
    least(greatest(
        (
            {{ average }} * ({{ denominator }} / {{ z }} ^ 2 + 1)
            + ({{ sign }}) * sqrt(greatest(
                (-8 * {{ average }} * ({{ denominator }} / {{ z }} ^ 2 + 1)) ^ 2
                - 64 * (1 / {{ z }} ^ 2 + 1 / {{ denominator }}) * {{ average }}
                * (
                    {{ denominator }} * ({{ average }} * ({{ denominator }} / {{ z }} ^ 2 + 2) - 1)
                    + {{ z }} ^ 2 * ({{ average }} - 1)
                ),
                0
            )) / 8
        ) / (1 / {{ z }} ^ 2 + 1 / {{ denominator }}) / {{ denominator }} * 100,
        0
    ), 100)
{%- endmacro %}


{#- One row per service, extract, indicator and step of a funnel plot's curves: the 95%
    and 99.8% limits at var('report_funnel_curve_steps') denominators spread from 1 to the
    plot's x_axis_max, from the centre line of `points` (a report_funnel_points model) and
    the z of the confidence_levels seed. -#}
{% macro report_funnel_limits(points) -%}
with

points as (

    select * from {{ points }}

),

levels as (

    select * from {{ ref('confidence_levels') }}

),

plots as (

    select distinct
        service_code,
        extract_date,
        indicator_id,
        centre_percent / 100 as average,
        x_axis_max
    from points
    where denominator > 0

),

steps as (

    select range as step
    from range(0, {{ var('report_funnel_curve_steps') }} + 1)

),

denominators as (

    -- steps spaced on a square-root scale, so the curves' steep start has points
    select distinct
        plots.service_code,
        plots.extract_date,
        plots.indicator_id,
        plots.average,
        greatest(
            1.0,
            plots.x_axis_max * (steps.step / {{ var('report_funnel_curve_steps') }}) ^ 2
        ) as denominator
    from plots
    cross join steps

),

final as (

    select
        denominators.service_code,
        denominators.extract_date,
        denominators.indicator_id,
        denominators.denominator,
        {{ funnel_limit('denominators.denominator', 'denominators.average', 'z95.two_sided_z', -1) }}
            as lower_95,
        {{ funnel_limit('denominators.denominator', 'denominators.average', 'z95.two_sided_z', 1) }}
            as upper_95,
        {{ funnel_limit('denominators.denominator', 'denominators.average', 'z998.two_sided_z', -1) }}
            as lower_998,
        {{ funnel_limit('denominators.denominator', 'denominators.average', 'z998.two_sided_z', 1) }}
            as upper_998
    from denominators
    inner join levels as z95 on z95.confidence_level_id = 'ci_95'
    inner join levels as z998 on z998.confidence_level_id = 'ci_998'

)

select * from final
{%- endmacro %}
