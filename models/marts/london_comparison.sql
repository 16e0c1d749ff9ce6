{#- Table 7.1.18: this service's figures beside the London services of 2009-10. The
    London figures cover a year (April 2009 to March 2010), the service's its months of
    operation: the figures that are counts over the period (the seed's is_per_period) are
    also annualised at the rate of the calendar months so far (12 / months_of_operation, as
    the 2010 evaluation projects); the others are the same over any period. -#}

with

summary as (

    select * from {{ ref('service_summary') }}
    where {{ in_loaded_partition() }}

),

london as (

    select * from {{ ref('london_comparison_2009_10') }}

),

service_figures as (

    unpivot (
        select
            service_code,
            extract_date,
            months_of_operation,
            period_start,
            period_end,
            clients_registered::double as total_clients,
            health_trainers_in_post::double as total_health_trainers,
            total_wte,
            clients_per_wte,
            clients_with_php::double as total_phps,
            php_to_client_ratio,
            phps_per_wte
        from summary
    )
    on
    total_clients,
    total_health_trainers,
    total_wte,
    clients_per_wte,
    total_phps,
    php_to_client_ratio,
    phps_per_wte
    into name figure_id value service_value

),

final as (

    select
        service_figures.service_code,
        service_figures.extract_date,
        london.figure_id,
        london.figure,
        london.figure_order,
        service_figures.service_value,
        london.is_per_period,
        service_figures.months_of_operation,
        service_figures.period_start,
        service_figures.period_end,
        case
            when london.is_per_period
                then service_figures.service_value * 12.0 / service_figures.months_of_operation
            else service_figures.service_value
        end as service_value_annualised,
        london.london_services,
        london.london_first_year_services,
        london.london_six_month_service,
        london.period as london_period
    from london
    inner join service_figures on london.figure_id = service_figures.figure_id

)

select * from final
