{#- The XmR charts of marts.spc drawn from the controlled monthly counts
    (published.monthly_activity), never from the true ones: a mean and limits on the true
    counts would give their total back (docs/disclosure.md). The chart is the marts' own
    (macros/spc.sql, xmr_chart). A month whose count is suppressed is no point
    (is_suppressed); a percent is the controlled numerator over the controlled
    denominator, and no point when either is suppressed. The indicators are those of
    spc_indicators whose counts published.monthly_activity holds; the data-capture charts
    need monthly counts that are not published, and are not drawn here.

    A chart is withheld (chart_status 'withheld': no mean, limits, special causes or
    icons, the controlled values still shown) when fewer than
    var('published_spc_min_points') months are points, or when more than
    var('published_spc_max_suppressed_percent') percent of the months that would be points
    are suppressed: the suppressed months are the smallest, so the chart of the rest would
    overstate the mean and flag the months around them as special causes
    (docs/decisions.md). -#}

with

activity as (

    select * from {{ ref('published_monthly_activity') }}
    where {{ in_loaded_partition() }}

),

indicators as (

    select * from {{ ref('spc_indicators') }}

),

service_targets as (

    select * from {{ ref('service_targets') }}

),

activity_values as (

    select
        service_code,
        extract_date,
        month,
        clients_registered::double as clients_registered,
        phps_started::double as phps_started,
        100.0 * goals_achieved_or_part_achieved
        / nullif(goal_outcomes_recorded, 0) as goals_achieved_percent,
        clients_registered is null as clients_registered_suppressed,
        phps_started is null as phps_started_suppressed,
        goals_achieved_or_part_achieved is null
        or goal_outcomes_recorded is null as goals_achieved_percent_suppressed
    from activity

),

activity_points as (

    select
        service_code,
        extract_date,
        month,
        indicator_id,
        value,
        case indicator_id
            when 'clients_registered' then clients_registered_suppressed
            when 'phps_started' then phps_started_suppressed
            when 'goals_achieved_percent' then goals_achieved_percent_suppressed
        end as is_suppressed
    from activity_values
    unpivot include nulls (
        value for indicator_id in (clients_registered, phps_started, goals_achieved_percent)
    )

),

published_points as (

    select
        activity_points.service_code,
        activity_points.extract_date,
        activity_points.indicator_id,
        indicators.indicator_order,
        activity_points.month,
        activity_points.value,
        activity_points.is_suppressed,
        indicators.improvement_direction,
        case indicators.target_from
            when 'annual_client_target'
                then service_targets.year_one_client_target / 12.0
        end::double as target
    from activity_points
    inner join indicators on activity_points.indicator_id = indicators.indicator_id
    left join service_targets
        on activity_points.service_code = service_targets.service_code

),

{{ xmr_chart('published_points', result='charted_months') }},

chart_sizes as (

    select
        service_code,
        extract_date,
        indicator_id,
        count(*) filter (where value is not null) as chart_points,
        count(*) filter (where is_suppressed) as suppressed_months
    from published_points
    group by service_code, extract_date, indicator_id

),

chart_status as (

    select
        *,
        case
            when chart_points < {{ var('published_spc_min_points') }}
                then 'fewer than {{ var("published_spc_min_points") }} months are points'
            when
                100.0 * suppressed_months / (chart_points + suppressed_months)
                > {{ var('published_spc_max_suppressed_percent') }}
                then
                    'more than {{ var("published_spc_max_suppressed_percent") }}% of the '
                    || 'months are suppressed'
        end as withheld_reason
    from chart_sizes

),

final as (

    select
        charted_months.service_code,
        charted_months.extract_date,
        charted_months.indicator_id,
        charted_months.indicator_order,
        charted_months.month,
        charted_months.value,
        case when chart_status.withheld_reason is null then charted_months.mean end as mean,
        case
            when chart_status.withheld_reason is null then charted_months.lower_process_limit
        end as lower_process_limit,
        case
            when chart_status.withheld_reason is null then charted_months.upper_process_limit
        end as upper_process_limit,
        case
            when chart_status.withheld_reason is null then charted_months.special_cause
        end as special_cause,
        case when chart_status.withheld_reason is null then charted_months.rule end as rule,
        case
            when chart_status.withheld_reason is null then charted_months.point_type
        end as point_type,
        case
            when chart_status.withheld_reason is null then charted_months.variation_icon
        end as variation_icon,
        case
            when chart_status.withheld_reason is null then charted_months.assurance_icon
        end as assurance_icon,
        charted_months.target,
        charted_months.improvement_direction,
        charted_months.chart_points,
        charted_months.warning,
        published_points.is_suppressed,
        chart_status.suppressed_months::integer as suppressed_months,
        case
            when chart_status.withheld_reason is null then 'published' else 'withheld'
        end as chart_status,
        chart_status.withheld_reason
    from charted_months
    inner join published_points
        on
            charted_months.service_code = published_points.service_code
            and charted_months.extract_date = published_points.extract_date
            and charted_months.indicator_id = published_points.indicator_id
            and charted_months.month = published_points.month
    inner join chart_status
        on
            charted_months.service_code = chart_status.service_code
            and charted_months.extract_date = chart_status.extract_date
            and charted_months.indicator_id = chart_status.indicator_id
    order by
        charted_months.service_code,
        charted_months.extract_date,
        charted_months.indicator_order,
        charted_months.month

)

select * from final
