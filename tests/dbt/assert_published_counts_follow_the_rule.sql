-- Each published count is its true count (from the marts) under the rule: 0 stays 0, 1 to
-- var('disclosure_suppress_max') is suppressed, any other count is rounded to the nearest
-- var('disclosure_rounding_base'), halves up, unless it is a complementary suppression
-- (suppressed). Returns the cells whose published value is
-- not what the rule gives.
with

cells as (

    select * from {{ ref('published_count_cells') }}

),

final as (

    select *
    from cells
    where
        true_count is null
        or (true_count = 0 and published_count is distinct from 0)
        or (
            true_count between 1 and {{ var('disclosure_suppress_max') }}
            and published_count is not null
        )
        or (
            true_count > {{ var('disclosure_suppress_max') }}
            -- a complementary suppression (published_complementary_suppressions)
            and not (is_complementary and published_count is null)
            and published_count is distinct from (
                floor(
                    (true_count * 2 + {{ var('disclosure_rounding_base') }})
                    / ({{ var('disclosure_rounding_base') }} * 2)
                ) * {{ var('disclosure_rounding_base') }}
            )
        )

)

select * from final
