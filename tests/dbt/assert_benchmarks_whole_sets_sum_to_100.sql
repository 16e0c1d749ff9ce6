{{ config(severity='warn') }}

-- Every benchmark set that is a whole distribution (not is_partial) sums to 100 within the
-- rounding of its printed figures: each is printed to var('benchmark_printed_precision')
-- and so is off by at most half of it. Returns the sets that do not; a warning, since the
-- figures are kept as printed, but a set that fails has a misprint or a missing row.
with

benchmarks as (

    select * from {{ ref('benchmarks') }}

),

set_totals as (

    select
        measure_id,
        benchmark_name,
        area,
        count(*) as figures,
        sum(benchmark_percent) as percent_total
    from benchmarks
    where not is_partial
    group by measure_id, benchmark_name, area

),

final as (

    select * from set_totals
    where
        abs(percent_total - 100)
        > figures * {{ var('benchmark_printed_precision') }} / 2
)

select * from final
