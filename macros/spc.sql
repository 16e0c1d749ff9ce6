{#- The XmR chart of NHSRplotthedots (0.2.2) with its defaults (ptd_spc with no rebase, no
    fixed points, outliers screened), as CTEs: marts.spc draws it on the true monthly
    values, published.spc on the controlled ones (docs/monitoring.md, docs/disclosure.md).

    `points` names a CTE (or relation) with one row per service_code, extract_date,
    indicator_id and month, and indicator_order, value (null: the month is no point),
    improvement_direction and target. The macro writes the CTEs that follow it in a
    `with` list, the last named `result`, one row per row of `points` with the columns of
    marts.spc. Mean of all points; moving ranges of var('spc_moving_range_screen_factor')
    x their mean or more left out, the rest averaged again; process limits at the mean
    +/- var('spc_limit_factor') x that average, "close to a limit" beyond two thirds of
    the way. Special-cause rules in the package's order of precedence: a point outside
    the limits, then a run of var('spc_trend_length') points each higher (or each lower)
    than the one before, then two of three points close to a limit on the same side of
    the mean, then var('spc_shift_length') points on one side of the mean; every point of
    a qualifying run is flagged. The variation icon is the last point's, the assurance
    icon compares the target with the limits. -#}

{% macro xmr_chart(points, result='final') -%}
{%- set limit_factor = var('spc_limit_factor') -%}
{%- set trend_length = var('spc_trend_length') -%}
{%- set shift_length = var('spc_shift_length') %}

charted as (

    select
        service_code,
        extract_date,
        indicator_id,
        month,
        value,
        improvement_direction,
        row_number() over chart as point_number,
        count(*) over whole_chart as chart_points,
        avg(value) over whole_chart as mean,
        abs(value - lag(value) over chart) as moving_range,
        sign(value - lag(value) over chart) as step
    from {{ points }}
    where value is not null
    window
        chart as (partition by service_code, extract_date, indicator_id order by month),
        whole_chart as (partition by service_code, extract_date, indicator_id)

),

-- moving ranges of screen_factor x their mean or more are left out (NHSRplotthedots'
-- screen_outliers, on by default)
moving_ranges_screened as (

    select
        *,
        case
            when
                moving_range
                < {{ var('spc_moving_range_screen_factor') }}
                * avg(moving_range) over whole_chart
                then moving_range
        end as screened_moving_range
    from charted
    window whole_chart as (partition by service_code, extract_date, indicator_id)

),

limits as (

    select
        *,
        mean - {{ limit_factor }} * average_moving_range as lower_process_limit,
        mean + {{ limit_factor }} * average_moving_range as upper_process_limit,
        mean - 2 * ({{ limit_factor }} / 3) * average_moving_range as lower_close_limit,
        mean + 2 * ({{ limit_factor }} / 3) * average_moving_range as upper_close_limit
    from (
        select
            *,
            avg(screened_moving_range) over (
                partition by service_code, extract_date, indicator_id
            ) as average_moving_range
        from moving_ranges_screened
    ) as averaged

),

point_positions as (

    select
        *,
        coalesce(
            value > upper_process_limit or value < lower_process_limit, false
        ) as is_outside_limits,
        sign(value - mean) as side_of_mean
    from limits

),

close_points as (

    select
        *,
        coalesce(
            not is_outside_limits
            and (value < lower_close_limit or value > upper_close_limit),
            false
        ) as is_close_to_limit
    from point_positions

),

-- the runs ending at each point: a trend (every step up, or every step down), a shift
-- (every point on one side of the mean), and two of three points close to a limit in
-- the three points centred on it, all three on the same side of the mean
run_ends as (

    select
        *,
        case
            when point_number < {{ trend_length }} then 0
            when
                min(step) over trend_steps = 1 then 1
            when
                max(step) over trend_steps = -1 then -1
            else 0
        end as trend_ends_here,
        case
            when point_number < {{ shift_length }} then 0
            when
                min(side_of_mean) over shift_points = max(side_of_mean) over shift_points
                then side_of_mean
            else 0
        end as shift_ends_here,
        coalesce(
            count(*) over three_points = 3
            and sum(is_close_to_limit::integer) over three_points >= 2
            and abs(sum(side_of_mean) over three_points) = 3,
            false
        ) as is_centre_of_two_in_three
    from close_points
    window
        trend_steps as (
            partition by service_code, extract_date, indicator_id order by month
            rows between {{ trend_length - 2 }} preceding and current row
        ),
        shift_points as (
            partition by service_code, extract_date, indicator_id order by month
            rows between {{ shift_length - 1 }} preceding and current row
        ),
        three_points as (
            partition by service_code, extract_date, indicator_id order by month
            rows between 1 preceding and 1 following
        )

),

-- every point of a qualifying run: the run ends at this point or one of the next
run_members as (

    select
        *,
        max(abs(trend_ends_here)) over trend_ahead = 1 as is_in_trend,
        max(abs(shift_ends_here)) over shift_ahead = 1 as is_in_shift,
        is_close_to_limit
        and bool_or(is_centre_of_two_in_three) over three_points as is_in_two_in_three
    from run_ends
    window
        trend_ahead as (
            partition by service_code, extract_date, indicator_id order by month
            rows between current row and {{ trend_length - 1 }} following
        ),
        shift_ahead as (
            partition by service_code, extract_date, indicator_id order by month
            rows between current row and {{ shift_length - 1 }} following
        ),
        three_points as (
            partition by service_code, extract_date, indicator_id order by month
            rows between 1 preceding and 1 following
        )

),

-- a trend's direction at a point: the step to the next point when that point is in a
-- trend too, else the step from the previous point; a step that is not up counts as
-- down (NHSRplotthedots' ptd_special_cause_type)
trend_steps as (

    select
        *,
        case
            when
                coalesce(lead(is_in_trend) over chart, false)
                then sign(lead(value) over chart - value)
            else coalesce(sign(value - lag(value) over chart), 0)
        end as trend_step
    from run_members
    window chart as (partition by service_code, extract_date, indicator_id order by month)

),

rules as (

    select
        *,
        case
            when is_outside_limits then 'outside_limits'
            when is_in_trend then 'trend'
            when is_in_two_in_three then 'two_in_three'
            when is_in_shift then 'shift'
        end as rule,
        case
            when is_outside_limits then side_of_mean
            when is_in_trend then case when trend_step = 1 then 1 else -1 end
            when is_in_two_in_three or is_in_shift
                then case when side_of_mean > 0 then 1 else -1 end
            else 0
        end as special_cause_direction
    from trend_steps

),

point_types as (

    select
        *,
        case
            when special_cause_direction = 0 then 'common_cause'
            when improvement_direction = 'neutral'
                then
                    case
                        when special_cause_direction > 0 then 'special_cause_neutral_high'
                        else 'special_cause_neutral_low'
                    end
            when
                special_cause_direction
                * case improvement_direction when 'increase' then 1 else -1 end
                > 0
                then 'special_cause_improvement'
            else 'special_cause_concern'
        end as point_type
    from rules

),

-- one row per chart: its limits, its last point's type, its size
charts as (

    select
        service_code,
        extract_date,
        indicator_id,
        any_value(mean) as mean,
        any_value(lower_process_limit) as lower_process_limit,
        any_value(upper_process_limit) as upper_process_limit,
        any_value(chart_points) as chart_points,
        arg_max(point_type, month) as last_point_type,
        any_value(improvement_direction) as improvement_direction
    from point_types
    group by service_code, extract_date, indicator_id

),

icons as (

    select
        charts.*,
        case charts.last_point_type
            when 'common_cause' then 'common_cause'
            when 'special_cause_neutral_high' then 'neutral_high'
            when 'special_cause_neutral_low' then 'neutral_low'
            when 'special_cause_concern'
                then
                    case charts.improvement_direction
                        when 'increase' then 'concern_low' else 'concern_high'
                    end
            when 'special_cause_improvement'
                then
                    case charts.improvement_direction
                        when 'increase' then 'improvement_high' else 'improvement_low'
                    end
        end as variation_icon
    from charts

),

{{ result }} as (

    select
        chart_months.service_code,
        chart_months.extract_date,
        chart_months.indicator_id,
        chart_months.indicator_order,
        chart_months.month,
        chart_months.value,
        icons.mean,
        icons.lower_process_limit,
        icons.upper_process_limit,
        case
            when point_types.point_type like 'special_cause_neutral%' then 'neither'
            when point_types.point_type = 'special_cause_improvement' then 'improvement'
            when point_types.point_type = 'special_cause_concern' then 'concern'
        end as special_cause,
        point_types.rule,
        point_types.point_type,
        icons.variation_icon,
        case
            when
                chart_months.target is null or chart_months.improvement_direction = 'neutral'
                then null
            when chart_months.target > icons.upper_process_limit
                then
                    case chart_months.improvement_direction
                        when 'increase' then 'fail' else 'pass'
                    end
            when chart_months.target < icons.lower_process_limit
                then
                    case chart_months.improvement_direction
                        when 'increase' then 'pass' else 'fail'
                    end
            -- also without limits (R compares with NaN and falls through to its default)
            else 'inconsistent'
        end as assurance_icon,
        chart_months.target,
        chart_months.improvement_direction,
        coalesce(icons.chart_points, 0)::integer as chart_points,
        case
            when coalesce(icons.chart_points, 0) < {{ var('spc_short_chart_points') }}
                then '{{ var("spc_short_chart_warning") | replace("'", "''") }}'
        end as warning
    from {{ points }} as chart_months
    left join point_types
        on
            chart_months.service_code = point_types.service_code
            and chart_months.extract_date = point_types.extract_date
            and chart_months.indicator_id = point_types.indicator_id
            and chart_months.month = point_types.month
    left join icons
        on
            chart_months.service_code = icons.service_code
            and chart_months.extract_date = icons.extract_date
            and chart_months.indicator_id = icons.indicator_id
    order by chart_months.indicator_order, chart_months.month

)
{%- endmacro %}
