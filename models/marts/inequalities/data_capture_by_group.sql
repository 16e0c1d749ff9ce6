{#- Data capture by group: for every required field (data_capture_fields), the share of
    its population recorded among each health trainer's clients and each group of the
    client dimensions of marts.inequalities, with its 95% Wilson interval and its rank
    among the field's groups of the dimension, least complete first, so the manager sees
    where training helps. Only groups with units in the field's population appear. -#}

-- depends_on: {{ ref('stg_dcrs__manifests') }} (the pre-hook deletes the loaded partition)

with

unit_groups as (

    select * from {{ ref('int_capture_unit_groups') }}

),

fields as (

    select * from {{ ref('data_capture_fields') }}

),

dimensions as (

    select * from {{ ref('inequality_dimensions') }}

),

measure_categories as (

    select * from {{ ref('measure_categories') }}

),

ethnic_groups as (

    select distinct
        ethnic_group,
        ethnic_group_order
    from {{ ref('ethnic_groups') }}

),

confidence as (

    {{ confidence_z_by_level() }}

),

counted as (

    select
        service_code,
        extract_date,
        field,
        dimension,
        group_name,
        bool_and(is_comparable) as is_comparable,
        count(*) filter (where is_captured) as recorded,
        count(*) as total
    from unit_groups
    group by service_code, extract_date, field, dimension, group_name

),

ordered as (

    select
        counted.*,
        fields.field_order,
        coalesce(dimensions.dimension_order, 0) as dimension_order,
        coalesce(
            measure_categories.category_order,
            ethnic_groups.ethnic_group_order,
            -- health trainers in the order of their ids
            dense_rank() over (
                partition by counted.service_code, counted.extract_date, counted.dimension
                order by counted.group_name
            )
        ) as group_order,
        100.0 * counted.recorded / counted.total as percent
    from counted
    inner join fields on counted.field = fields.field
    left join dimensions on counted.dimension = dimensions.dimension
    left join measure_categories
        on
            dimensions.measure_id = measure_categories.measure_id
            and counted.group_name = measure_categories.category
    left join ethnic_groups
        on
            counted.dimension = 'ethnic_group'
            and counted.group_name = ethnic_groups.ethnic_group

),

final as (

    select
        ordered.service_code::varchar as service_code,
        ordered.extract_date::date as extract_date,
        ordered.field::varchar as field,
        ordered.dimension::varchar as dimension,
        ordered.group_name::varchar as group_name,
        ordered.group_order::integer as group_order,
        ordered.recorded::integer as recorded,
        ordered.total::integer as total,
        ordered.percent::double as percent,
        {{ wilson_lower('ordered.recorded', 'ordered.total', 'confidence.z_95') }}::double
            as ci_lower,
        {{ wilson_upper('ordered.recorded', 'ordered.total', 'confidence.z_95') }}::double
            as ci_upper,
        rank() over (
            partition by
                ordered.service_code, ordered.extract_date, ordered.field, ordered.dimension
            order by ordered.percent asc
        )::integer as rank_in_field,
        ordered.is_comparable::boolean as is_comparable,
        ordered.field_order::integer as field_order,
        ordered.dimension_order::integer as dimension_order
    from ordered
    cross join confidence
    order by
        ordered.service_code,
        ordered.extract_date,
        ordered.field_order,
        ordered.dimension_order,
        ordered.group_order

)

select * from final
