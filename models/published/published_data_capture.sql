{#- marts.data_capture under disclosure control (macros/disclosure.sql): recorded and total
    suppressed (1 to the threshold, or complementary: published_complementary_suppressions)
    or rounded, and the percent recomputed from them.
    meets_threshold is the true verdict, judged in the mart on the true percent (a
    verdict from rounded counts can be wrong near the threshold), withheld (null) where
    recorded or total is suppressed. -#}

{%- set complementary_recorded = "(field, 'recorded') in (select * from complementary)" %}
{%- set complementary_total = "(field, 'total') in (select * from complementary)" %}

with

capture as (

    select * from {{ ref('data_capture') }}
    where {{ in_loaded_partition() }}

),

-- the partition's complementary suppressions (published_complementary_suppressions)
complementary as (

    select
        row_key as field,
        column_name
    from {{ ref('published_complementary_suppressions') }}
    where {{ in_loaded_partition() }} and table_name = 'data_capture'

),

controlled as (

    select
        service_code,
        extract_date,
        field,
        field_order,
        population,
        {{ disclosure_count('recorded', complementary_recorded) }} as recorded,
        {{ disclosure_count('total', complementary_total) }} as total,
        {{ disclosure_is_suppressed('recorded', complementary_recorded) }}
        or {{ disclosure_is_suppressed('total', complementary_total) }} as is_suppressed,
        threshold_percent,
        meets_threshold as true_meets_threshold
    from capture

),

final as (

    select
        service_code,
        extract_date,
        field,
        field_order,
        population,
        recorded,
        total,
        100.0 * recorded / nullif(total, 0) as percent,
        threshold_percent,
        case when not is_suppressed then true_meets_threshold end as meets_threshold
    from controlled
    order by service_code, extract_date, field_order

)

select * from final
