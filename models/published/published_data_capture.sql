{#- marts.data_capture under disclosure control (macros/disclosure.sql): recorded and total
    suppressed (1 to the threshold) or rounded, the percent recomputed from them and
    meets_threshold judged on that percent, so that the table agrees with itself. Near the
    threshold it can differ from marts.data_capture, which judges the true percent. -#}

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
        threshold_percent
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
        case
            -- an empty population has nothing to capture
            when total = 0 then true
            when recorded is not null and total is not null
                then 100.0 * recorded / total >= threshold_percent
        end as meets_threshold
    from controlled
    order by service_code, extract_date, field_order

)

select * from final
