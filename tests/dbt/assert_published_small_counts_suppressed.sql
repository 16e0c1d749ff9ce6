-- No count from 1 to var('disclosure_suppress_max') is published: every cell whose true
-- count (in the marts) lies in that range is suppressed (null, shown '*'), and no published
-- value lies in that range unless it is the rounding of a count above the threshold (with
-- the defaults, 7 and 5, the smallest such value is 10, so none does). Returns the cells
-- that break this.
with

cells as (

    select * from {{ ref('published_count_cells') }}

),

final as (

    select *
    from cells
    where
        (
            true_count between 1 and {{ var('disclosure_suppress_max') }}
            and (published_count is not null or published_display <> '*')
        )
        or (
            published_count between 1 and {{ var('disclosure_suppress_max') }}
            and true_count <= {{ var('disclosure_suppress_max') }}
        )

)

select * from final
