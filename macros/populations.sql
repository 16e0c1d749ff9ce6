-- One row per population that a measure or a data-capture field is counted over, named as
-- in the `population` column of the measures and data_capture_fields seeds, with its
-- number of units in the loaded extract: the sizes the counting tests
-- (tests/dbt/assert_*_each_unit_once.sql, assert_*_one_row_per_unit.sql) hold the long
-- tables and the breakdown to. Clients with a baseline and a follow-up score are counted
-- per instrument by the test that needs them.
{% macro population_sizes() %}
    select
        'all clients' as population,
        count(*) as units
    from {{ ref('int_clients_validated') }}
    union all
    select
        'eligible clients' as population,
        count(*) filter (where is_eligible) as units
    from {{ ref('int_clients_validated') }}
    union all
    select
        'clients referred by Other' as population,
        count(*) filter (where referral_source = 'Other') as units
    from {{ ref('int_clients_validated') }}
    union all
    select
        'all goals' as population,
        count(*) as units
    from {{ ref('int_goals_validated') }}
{% endmacro %}
