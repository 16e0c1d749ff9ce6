-- Each data-capture field holds each unit of its population exactly once: its row count
-- equals the size of the population named in the data_capture_fields seed (macro
-- population_sizes). A join that fanned out would add rows, one that missed would drop
-- them. One counting pass instead of a uniqueness check of 17 rows per client. Returns
-- each field whose count differs.
with

captured as (
    select
        field,
        count(*) as units
    from {{ ref('int_capture_fields_unpivoted') }}
    group by field
),

fields as (
    select
        field,
        population
    from {{ ref('data_capture_fields') }}
),

population_sizes as (
    {{ population_sizes() }}
),

expected as (
    -- a population the seed names but population_sizes does not know has no units
    select
        fields.field,
        coalesce(population_sizes.units, 0) as population
    from fields
    left join population_sizes on fields.population = population_sizes.population
)

select
    expected.field,
    expected.population,
    coalesce(captured.units, 0) as units
from expected
left join captured on expected.field = captured.field
where expected.population is distinct from coalesce(captured.units, 0)
