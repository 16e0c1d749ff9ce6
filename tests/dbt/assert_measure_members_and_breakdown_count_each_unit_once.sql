-- Each measure counts each unit of its population exactly once, in
-- int_measure_members_categorised and in measure_breakdown: the member rows, and the sum
-- of the breakdown's n, equal the size of the population the measures seed names for it
-- (macro population_sizes; clients with a computed change of the instrument for the
-- change measures). A join that fanned out would add rows, a category left null would
-- drop them, a category missing from the breakdown's frame would drop its units from the
-- counts, and a measure_id not in the measures seed has no population. One counting pass
-- instead of a uniqueness check of 24 rows per client. The members are the loaded
-- extract's, so the breakdown is read for that extract. Returns each measure whose counts
-- differ.
with

members as (
    select
        measure_id,
        count(*) as members
    from {{ ref('int_measure_members_categorised') }}
    group by measure_id
),

breakdown as (
    select
        measure_id,
        sum(n) as counted
    from {{ ref('measure_breakdown') }}
    where {{ in_loaded_partition() }}
    group by measure_id
),

measures as (
    select
        measure_id,
        population
    from {{ ref('measures') }}
),

population_sizes as (
    {{ population_sizes() }}
),

changes as (
    select
        measure_id,
        count(*) as changes
    from {{ ref('int_wellbeing_changes_computed') }}
    group by measure_id
),

expected as (
    -- the size of the population the measures seed names; a population it does not know
    -- has no units
    select
        measures.measure_id,
        case measures.population
            when 'clients with a baseline and a follow-up score'
                then coalesce(changes.changes, 0)
            else coalesce(population_sizes.units, 0)
        end as population
    from measures
    left join population_sizes on measures.population = population_sizes.population
    left join changes on measures.measure_id = changes.measure_id
),

compared as (
    select
        coalesce(expected.measure_id, members.measure_id, breakdown.measure_id) as measure_id,
        expected.population,
        coalesce(members.members, 0) as members,
        coalesce(breakdown.counted, 0) as counted
    from expected
    full outer join members on expected.measure_id = members.measure_id
    full outer join breakdown
        on coalesce(expected.measure_id, members.measure_id) = breakdown.measure_id
)

select * from compared
where
    population is distinct from members
    or population is distinct from counted
