-- Every published count is 0, a positive whole multiple of var('disclosure_rounding_base'),
-- or suppressed (null, shown '*'); and what is shown is the count. In
-- published.measure_breakdown is_suppressed agrees with n and n_display. Returns the
-- cells that break this.
with

cells as (

    select * from {{ ref('published_count_cells') }}

),

breakdown as (

    select * from {{ ref('published_measure_breakdown') }}

),

bad_cells as (

    select
        table_name,
        row_key,
        column_name,
        published_count,
        published_display
    from cells
    where
        not coalesce(
            (published_count is null and published_display = '*')
            or (
                published_count >= 0
                and published_count = floor(published_count)
                and published_count % {{ var('disclosure_rounding_base') }} = 0
                and published_display = published_count::bigint::varchar
            ),
            false
        )

),

bad_flags as (

    select
        'measure_breakdown' as table_name,
        measure_id || ' / ' || category as row_key,
        'is_suppressed' as column_name,
        n::double as published_count,
        n_display as published_display
    from breakdown
    where
        is_suppressed is distinct from (n is null)
        or is_suppressed is distinct from (n_display = '*')

),

final as (

    select * from bad_cells
    union all
    select * from bad_flags

)

select * from final
