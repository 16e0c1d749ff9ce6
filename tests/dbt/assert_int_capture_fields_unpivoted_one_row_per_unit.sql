-- Each data-capture field holds each unit of its population exactly once: its row count
-- equals the size of the population named in the data_capture_fields seed (kept clients,
-- eligible clients, clients referred by Other, kept goals). A join that fanned out would
-- add rows, one that missed would drop them. One counting pass instead of a uniqueness
-- check of 17 rows per client. Returns each field whose count differs.
with

captured as (
    select
        field,
        count(*) as units
    from {{ ref('int_capture_fields_unpivoted') }}
    group by field
),

fields as (
    select
        field,
        population
    from {{ ref('data_capture_fields') }}
),

clients as (
    select
        count(*) as all_clients,
        count(*) filter (where is_eligible) as eligible_clients,
        count(*) filter (where referral_source = 'Other') as referred_other_clients
    from {{ ref('int_clients_validated') }}
),

goals as (
    select count(*) as all_goals
    from {{ ref('int_goals_validated') }}
),

expected as (
    select
        fields.field,
        case fields.population
            when 'all clients' then clients.all_clients
            when 'eligible clients' then clients.eligible_clients
            when 'clients referred by Other' then clients.referred_other_clients
            when 'all goals' then goals.all_goals
        end as population
    from fields
    cross join clients
    cross join goals
)

select
    expected.field,
    expected.population,
    coalesce(captured.units, 0) as units
from expected
left join captured on expected.field = captured.field
where expected.population is distinct from coalesce(captured.units, 0)
