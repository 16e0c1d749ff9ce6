-- Each measure holds each unit of its population exactly once: its row count equals the
-- size of the population (kept clients; eligible clients for primary_health_issue and
-- bmi_band; kept goals for the goal measures; clients with a computed change of the
-- instrument for the change measures). A join that fanned out would add rows, a category
-- left null would drop them; a measure_id that is not in the measures seed has no
-- population. One counting pass instead of a uniqueness check of 24 rows per client.
-- Returns each measure whose count differs.
with

members as (
    select
        measure_id,
        count(*) as members
    from {{ ref('int_measure_members_categorised') }}
    group by measure_id
),

measures as (
    select measure_id from {{ ref('measures') }}
),

clients as (
    select
        count(*) as clients,
        count(*) filter (where is_eligible) as eligible_clients
    from {{ ref('int_clients_validated') }}
),

goals as (
    select count(*) as goals
    from {{ ref('int_goals_validated') }}
),

instruments as (
    select measure_id from {{ ref('wellbeing_instruments') }}
),

changes as (
    select
        measure_id,
        count(*) as changes
    from {{ ref('int_wellbeing_changes_computed') }}
    group by measure_id
),

expected as (
    select
        measures.measure_id,
        case
            when measures.measure_id in ('goal_type', 'goal', 'goal_outcome') then goals.goals
            when measures.measure_id in ('primary_health_issue', 'bmi_band')
                then clients.eligible_clients
            when instruments.measure_id is not null then coalesce(changes.changes, 0)
            else clients.clients
        end as population
    from measures
    cross join clients
    cross join goals
    left join instruments on measures.measure_id = instruments.measure_id
    left join changes on measures.measure_id = changes.measure_id
)

select
    coalesce(expected.measure_id, members.measure_id) as measure_id,
    expected.population,
    coalesce(members.members, 0) as members
from expected
full outer join members on expected.measure_id = members.measure_id
where expected.population is distinct from coalesce(members.members, 0)
