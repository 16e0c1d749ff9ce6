{#- One row per published count that disclosure control suppressed or rounded, with the
    rule applied. It never holds the true count, nor anything that depends on it beyond
    what the published tables already show: the action follows from the published value
    alone ('*' is suppressed; any other non-zero count is rounded, whether or not rounding
    changed it, since listing only the changed ones would tell which counts are exact
    multiples of the base). Zeros are published as they are and are not listed. -#}

with

cells as (

    select * from {{ ref('published_count_cells') }}
    where {{ in_loaded_partition() }}

),

final as (

    select
        table_name,
        service_code,
        extract_date,
        row_key,
        column_name,
        -- `action` is a keyword, but it is the log's agreed column name
        case
            when published_display = '*' then 'suppressed'
            else 'rounded'
        end as action,  -- noqa: RF04
        case
            when is_complementary then {{ disclosure_rule_complementary() }}
            when published_display = '*' then {{ disclosure_rule_suppressed() }}
            else {{ disclosure_rule_rounded() }}
        end as rule_applied
    from cells
    where published_display = '*' or published_count <> 0
    order by table_name, service_code, extract_date, row_key, column_name

)

select * from final
