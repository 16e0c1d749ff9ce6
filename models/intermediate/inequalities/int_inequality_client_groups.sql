{#- Each kept client in their group of every inequality dimension: deprivation quintile,
    broad ethnic group (the ethnic_groups seed), age band, gender and disability, named as
    the measures' categories (int_clients_categorised). is_comparable is false for groups
    that record missing, refused or invalid data; they are kept, never compared. -#}

with

clients as (

    select * from {{ ref('int_clients_categorised') }}

),

ethnic_groups as (

    select * from {{ ref('ethnic_groups') }}

),

measure_categories as (

    select * from {{ ref('measure_categories') }}

),

client_values as (

    select
        clients.service_code,
        clients.extract_date,
        clients.client_id,
        clients.deprivation_quintile,
        ethnic_groups.ethnic_group,
        clients.age_band,
        clients.gender,
        clients.disability
    from clients
    left join ethnic_groups on clients.ethnicity = ethnic_groups.ethnicity

),

unpivoted as (

    unpivot client_values
    on deprivation_quintile, ethnic_group, age_band, gender, disability
    into name dimension value group_name

),

ethnic_group_orders as (

    select distinct
        ethnic_group as group_name,
        ethnic_group_order as group_order,
        is_comparable,
        -- as for the ethnicity measure: Invalid is counted but not in the denominator
        ethnic_group = 'Invalid' as excluded_from_denominator
    from ethnic_groups

),

final as (

    select
        unpivoted.service_code,
        unpivoted.extract_date,
        unpivoted.client_id,
        unpivoted.dimension,
        unpivoted.group_name,
        coalesce(measure_categories.category_order, ethnic_group_orders.group_order)
            as group_order,
        coalesce(measure_categories.is_comparable, ethnic_group_orders.is_comparable)
            as is_comparable,
        coalesce(
            measure_categories.excluded_from_denominator,
            ethnic_group_orders.excluded_from_denominator
        ) as excluded_from_denominator
    from unpivoted
    left join measure_categories
        on
            unpivoted.dimension = measure_categories.measure_id
            and unpivoted.group_name = measure_categories.category
    left join ethnic_group_orders
        on
            unpivoted.dimension = 'ethnic_group'
            and unpivoted.group_name = ethnic_group_orders.group_name

)

select * from final
