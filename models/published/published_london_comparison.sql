{#- marts.london_comparison with this service's figures taken from published.service_summary:
    total clients and total PHPs are controlled counts, and clients per WTE, the PHP to
    client ratio and PHPs per WTE are recomputed from them. Trainers and WTE are staff
    figures and are kept; any other figure is left out (null) until it is classified here.
    The London columns are already published figures and are kept. -#}

with

comparison as (

    select * from {{ ref('london_comparison') }}
    where {{ in_loaded_partition() }}

),

summary as (

    select * from {{ ref('published_service_summary') }}
    where {{ in_loaded_partition() }}

),

final as (

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
        comparison.london_services,
        comparison.london_first_year_services,
        comparison.london_six_month_service,
        comparison.london_period
    from comparison
    left join summary
        on
            comparison.service_code = summary.service_code
            and comparison.extract_date = summary.extract_date
    order by comparison.service_code, comparison.extract_date, comparison.figure_order

)

select * from final
