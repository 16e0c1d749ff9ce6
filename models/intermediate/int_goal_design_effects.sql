{#- The design effect of each category of each goal measure (measures of unit `goal`):
    a client's goals are not independent (one client sets several, and they tend to go
    the same way), so a Wilson interval on the goal counts is too narrow. The share of
    goals in a category is a ratio estimator p = Y / M, Y = sum of y_i and M = sum of m_i
    over the clients i (y_i: the client's goals in the category, m_i: the client's goals
    in the denominator). Its cluster-robust variance, with clients as clusters (k of
    them with a goal in the denominator), is

        v_cluster = k / (k - 1) x sum((y_i - p m_i)^2) / M^2

    and the binomial variance, as if the M goals were independent, p (1 - p) / M. The
    design effect is their ratio; written with exact integer sums (HUGEINT, no rounding
    until the last division):

        deff = k / (k - 1) x (M^2 sum(y^2) - 2 Y M sum(y m) + Y^2 sum(m^2)) / (M Y (M - Y))

    It is floored at 1 (docs/statistics.md): the interval is never narrower than the
    binomial one. Where it cannot be estimated (Y = 0, Y = M, or fewer than two clients)
    it is 1. marts.measure_breakdown divides the count and denominator by it (the
    effective counts) for the Wilson interval. -#}

with

members as (

    select * from {{ ref('int_measure_members_categorised') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

measures as (

    select * from {{ ref('measures') }}

),

measure_categories as (

    select * from {{ ref('measure_categories') }}

),

goal_members as (

    -- each goal of each goal measure, with its client and whether it counts in the
    -- denominator
    select
        members.service_code,
        members.extract_date,
        members.measure_id,
        members.category,
        goals.client_id,
        not coalesce(measure_categories.excluded_from_denominator, false) as in_denominator
    from members
    inner join measures on members.measure_id = measures.measure_id
    inner join goals
        on
            members.service_code = goals.service_code
            and members.extract_date = goals.extract_date
            and members.unit_id = goals.goal_id
    left join measure_categories
        on
            members.measure_id = measure_categories.measure_id
            and members.category = measure_categories.category
    where measures.unit = 'goal'

),

client_totals as (

    -- m_i: each client's goals in the measure's denominator
    select
        service_code,
        extract_date,
        measure_id,
        client_id,
        count(*)::hugeint as goals_in_denominator
    from goal_members
    where in_denominator
    group by service_code, extract_date, measure_id, client_id

),

measure_sums as (

    select
        service_code,
        extract_date,
        measure_id,
        count(*)::hugeint as clients,
        sum(goals_in_denominator)::hugeint as sum_m,
        sum(goals_in_denominator * goals_in_denominator)::hugeint as sum_m_squared
    from client_totals
    group by service_code, extract_date, measure_id

),

client_category_counts as (

    -- y_i: each client's goals in the category (clients with none add nothing to the
    -- sums of y)
    select
        goal_members.service_code,
        goal_members.extract_date,
        goal_members.measure_id,
        goal_members.category,
        goal_members.client_id,
        count(*)::hugeint as goals_in_category
    from goal_members
    where goal_members.in_denominator
    group by
        goal_members.service_code,
        goal_members.extract_date,
        goal_members.measure_id,
        goal_members.category,
        goal_members.client_id

),

category_sums as (

    select
        client_category_counts.service_code,
        client_category_counts.extract_date,
        client_category_counts.measure_id,
        client_category_counts.category,
        sum(client_category_counts.goals_in_category)::hugeint as sum_y,
        sum(
            client_category_counts.goals_in_category
            * client_category_counts.goals_in_category
        )::hugeint as sum_y_squared,
        sum(
            client_category_counts.goals_in_category * client_totals.goals_in_denominator
        )::hugeint as sum_y_m
    from client_category_counts
    inner join client_totals
        on
            client_category_counts.service_code = client_totals.service_code
            and client_category_counts.extract_date = client_totals.extract_date
            and client_category_counts.measure_id = client_totals.measure_id
            and client_category_counts.client_id = client_totals.client_id
    group by
        client_category_counts.service_code,
        client_category_counts.extract_date,
        client_category_counts.measure_id,
        client_category_counts.category

),

estimated as (

    select
        category_sums.service_code,
        category_sums.extract_date,
        category_sums.measure_id,
        category_sums.category,
        measure_sums.clients::bigint as clients,
        category_sums.sum_y::bigint as n,
        measure_sums.sum_m::bigint as denominator,
        case
            when
                measure_sums.clients > 1
                and category_sums.sum_y > 0
                and category_sums.sum_y < measure_sums.sum_m
                then
                    measure_sums.clients::double / (measure_sums.clients - 1)
                    * (
                        measure_sums.sum_m * measure_sums.sum_m * category_sums.sum_y_squared
                        - 2 * category_sums.sum_y * measure_sums.sum_m * category_sums.sum_y_m
                        + category_sums.sum_y * category_sums.sum_y * measure_sums.sum_m_squared
                    )::double
                    / (
                        measure_sums.sum_m
                        * category_sums.sum_y
                        * (measure_sums.sum_m - category_sums.sum_y)
                    )::double
        end as design_effect_estimated
    from category_sums
    inner join measure_sums
        on
            category_sums.service_code = measure_sums.service_code
            and category_sums.extract_date = measure_sums.extract_date
            and category_sums.measure_id = measure_sums.measure_id

),

final as (

    select
        service_code,
        extract_date,
        measure_id,
        category,
        clients,
        n,
        denominator,
        design_effect_estimated,
        greatest(coalesce(design_effect_estimated, 1.0), {{ var('design_effect_floor') }})
            as design_effect
    from estimated

)

select * from final
