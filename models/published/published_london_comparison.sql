{#- marts.london_comparison with this service's figures taken from published.service_summary:
    total clients and total PHPs are controlled counts, and clients per WTE, the PHP to
    client ratio and PHPs per WTE are recomputed from them. Trainers and WTE are staff
    figures and are kept; any other figure is left out (null) until it is classified here.
    The London columns are already published figures and are kept. The annualised value
    is worked out from the published one. -#}

with

comparison as (

    select * from {{ ref('london_comparison') }}
    where {{ in_loaded_partition() }}

),

summary as (

    select * from {{ ref('published_service_summary') }}
    where {{ in_loaded_partition() }}

),

controlled as (

    select
        comparison.service_code,
        comparison.extract_date,
        comparison.figure_id,
        comparison.figure,
        comparison.figure_order,
        case comparison.figure_id
            when 'total_clients' then summary.clients_registered::double
            when 'total_phps' then summary.clients_with_php::double
            when 'clients_per_wte' then summary.clients_per_wte
            when 'php_to_client_ratio' then summary.php_to_client_ratio
            when 'phps_per_wte' then summary.phps_per_wte
            -- staff figures
            when 'total_health_trainers' then comparison.service_value
            when 'total_wte' then comparison.service_value
        end as service_value,
        comparison.is_per_period,
        comparison.months_of_operation,
        comparison.period_start,
        comparison.period_end,
        comparison.london_services,
        comparison.london_first_year_services,
        comparison.london_six_month_service,
        comparison.london_period
    from comparison
    left join summary
        on
            comparison.service_code = summary.service_code
            and comparison.extract_date = summary.extract_date

),

final as (

    select
        service_code,
        extract_date,
        figure_id,
        figure,
        figure_order,
        service_value,
        is_per_period,
        months_of_operation,
        period_start,
        period_end,
        -- annualised from the published value, as marts.london_comparison does
        case
            when is_per_period then service_value * 12.0 / months_of_operation
            else service_value
        end as service_value_annualised,
        london_services,
        london_first_year_services,
        london_six_month_service,
        london_period
    from controlled
    order by service_code, extract_date, figure_order

)

select * from final
