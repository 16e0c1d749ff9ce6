{#- marts.data_capture under disclosure control (macros/disclosure.sql): recorded and total
    suppressed (1 to the threshold) or rounded, and the percent recomputed from them.
    meets_threshold is the true verdict, judged in the mart on the true percent (a
    verdict from rounded counts can be wrong near the threshold), withheld (null) where
    recorded or total is suppressed. -#}

with

capture as (

    select * from {{ ref('data_capture') }}
    where {{ in_loaded_partition() }}

),

controlled as (

    select
        service_code,
        extract_date,
        field,
        field_order,
        population,
        {{ disclosure_count('recorded') }} as recorded,
        {{ disclosure_count('total') }} as total,
        {{ disclosure_is_suppressed('recorded') }}
        or {{ disclosure_is_suppressed('total') }} as is_suppressed,
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
