{#- The client counts whose exact Poisson interval the service summaries show: each
    service's count of clients registered (marts.service_summary) and that count under
    disclosure control (published.service_summary, whose interval must be worked out from
    the published count, or it would give the exact count back). A suppressed count has
    no interval and is left out. -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

service_counts as (

    select
        service_code,
        count(*) as clients_registered
    from clients
    group by service_code

),

counts_listed as (

    select
        service_code,
        'exact' as count_kind,
        clients_registered as client_count
    from service_counts
    union all
    select
        service_code,
        'published' as count_kind,
        {{ disclosure_count('clients_registered') }} as client_count
    from service_counts

),

final as (

    select
        service_code,
        count_kind,
        client_count
    from counts_listed
    where client_count is not null

)

select * from final
