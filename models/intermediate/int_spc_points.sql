{#- The points of the SPC charts (marts.spc): one row per service, extract, indicator
    (the spc_indicators seed) and month of marts.monthly_activity, with the indicator's
    value that month, its improvement direction and its target. A percent with no
    denominator that month (no outcome recorded, no registration in a field's population)
    has a null value: it is not a point of the chart. Targets: the service's year-one
    client target (service_targets) over 12 months for new clients; the field's data
    capture threshold for data capture. -#}

with

monthly_activity as (

    select * from {{ ref('monthly_activity') }}
    where {{ in_loaded_partition() }}

),

capture_units as (

    select * from {{ ref('int_capture_fields_unpivoted') }}

),

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

indicators as (

    select * from {{ ref('spc_indicators') }}

),

capture_fields as (

    select * from {{ ref('data_capture_fields') }}

),

service_targets as (

    select * from {{ ref('service_targets') }}

),

-- every unit of a field's population, in the month its client registered (a goal's
-- client, for goal fields)
capture_units_by_month as (

    select
        capture_units.service_code,
        capture_units.extract_date,
        capture_units.field,
        clients.registration_month as month,
        capture_units.is_captured
    from capture_units
    inner join clients
        on
            capture_units.unit_id = clients.client_id
            and capture_units.population <> 'all goals'

    union all

    select
        capture_units.service_code,
        capture_units.extract_date,
        capture_units.field,
        clients.registration_month as month,
        capture_units.is_captured
    from capture_units
    inner join goals
        on
            capture_units.unit_id = goals.goal_id
            and capture_units.population = 'all goals'
    inner join clients on goals.client_id = clients.client_id

),

capture_counted as (

    select
        service_code,
        extract_date,
        field,
        month,
        count(*) filter (where is_captured) as recorded,
        count(*) as total
    from capture_units_by_month
    group by service_code, extract_date, field, month

),

activity_wide as (

    select
        service_code,
        extract_date,
        month,
        clients_registered::double as clients_registered,
        phps_started::double as phps_started,
        100.0 * goals_achieved_or_part_achieved
        / nullif(goal_outcomes_recorded, 0) as goals_achieved_percent
    from monthly_activity

),

-- a month whose percent has no denominator keeps its row, with a null value
activity_points as (

    select
        service_code,
        extract_date,
        month,
        indicator_id,
        value
    from activity_wide
    unpivot include nulls (
        value for indicator_id in (clients_registered, phps_started, goals_achieved_percent)
    )

),

capture_points as (

    select
        monthly_activity.service_code,
        monthly_activity.extract_date,
        monthly_activity.month,
        indicators.indicator_id,
        100.0 * capture_counted.recorded / nullif(capture_counted.total, 0) as value
    from monthly_activity
    inner join indicators on indicators.capture_field is not null
    left join capture_counted
        on
            monthly_activity.service_code = capture_counted.service_code
            and monthly_activity.extract_date = capture_counted.extract_date
            and monthly_activity.month = capture_counted.month
            and indicators.capture_field = capture_counted.field

),

points as (

    select
        service_code,
        extract_date,
        month,
        indicator_id,
        value
    from activity_points

    union all

    select
        service_code,
        extract_date,
        month,
        indicator_id,
        value
    from capture_points

),

final as (

    select
        points.service_code,
        points.extract_date,
        points.indicator_id,
        indicators.indicator_order,
        points.month,
        points.value,
        indicators.improvement_direction,
        case indicators.target_from
            when 'annual_client_target'
                then service_targets.year_one_client_target / 12.0
            when 'data_capture_threshold'
                then coalesce(
                    capture_fields.threshold_percent,
                    {{ var('data_capture_default_threshold_percent') }}
                )
        end::double as target
    from points
    inner join indicators on points.indicator_id = indicators.indicator_id
    left join capture_fields on indicators.capture_field = capture_fields.field
    left join service_targets on points.service_code = service_targets.service_code

)

select * from final
