{#- The exact (Garwood) Poisson interval of each service's count of clients registered,
    exact and published (int_client_count_poisson_limits), for the extract loaded:
    marts.service_summary bounds its projection by days with the exact one,
    published.service_summary with the published one. -#}

with

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

limits as (

    select * from {{ ref('int_client_count_poisson_limits') }}

),

final as (

    select
        manifest.service_code,
        manifest.extract_date,
        -- typed here: the Python model's empty DataFrame (an extract with no clients,
        -- dbt build --empty) gives the column no type, and the contract wants varchar
        cast(limits.count_kind as varchar) as count_kind,
        limits.client_count,
        limits.interval_level,
        limits.lower_limit,
        limits.upper_limit
    from manifest
    inner join limits on manifest.service_code = limits.service_code

)

select * from final
