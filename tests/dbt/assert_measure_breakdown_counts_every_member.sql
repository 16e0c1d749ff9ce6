-- Every categorised unit is counted: for each measure, the n of measure_breakdown add up
-- to the rows of int_measure_members_categorised. A category missing from the frame (the
-- measure_categories seed, or the data-driven districts, wards and months) would drop
-- units silently. The members are the loaded extract's, so the breakdown is read for that
-- extract. Returns the measures whose counts differ.
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
)

select
    members.members,
    breakdown.counted,
    coalesce(members.measure_id, breakdown.measure_id) as measure_id
from members
full outer join breakdown on members.measure_id = breakdown.measure_id
where coalesce(members.members, 0) <> coalesce(breakdown.counted, 0)
