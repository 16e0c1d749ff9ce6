{#- Table 7.1.18: this service's figures beside the London services of 2009-10. -#}

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
        london.london_services,
        london.london_first_year_services,
        london.london_six_month_service,
        london.period as london_period
    from london
    inner join service_figures on london.figure_id = service_figures.figure_id

)

select * from final
