-- Categories excluded from their measure's denominator (measure_categories) are counted
-- but carry no denominator, percent or interval. Returns the excluded rows that do.
with

breakdown as (
    select * from {{ ref('measure_breakdown') }}
),

excluded as (
    select
        measure_id,
        category
    from {{ ref('measure_categories') }}
    where excluded_from_denominator
)

select breakdown.*
from breakdown
inner join excluded
    on
        breakdown.measure_id = excluded.measure_id
        and breakdown.category = excluded.category
where
    breakdown.denominator is not null
    or breakdown.percent is not null
    or breakdown.ci_lower is not null
    or breakdown.ci_upper is not null
