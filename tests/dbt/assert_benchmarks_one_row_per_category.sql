-- seeds/benchmarks.csv must hold at most one benchmark per measure, category and benchmark
-- (the grain the marts join on). Returns every row whose (measure_id, category,
-- benchmark_name) occurs more than once; the test passes when it returns nothing.
with keyed as (
    select
        *,
        count(*) over (partition by measure_id, category, benchmark_name) as rows_for_key
    from {{ ref('benchmarks') }}
)

select *
from keyed
where rows_for_key > 1
