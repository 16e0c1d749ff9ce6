{#- What changed between an extract and the one loaded before it, record by record: how
    many records of each kind were added, changed, removed or left unchanged. -#}

with

versions as (

    select * from {{ ref('record_versions') }}
    where {{ in_loaded_partition() }}

),

states as (

    select * from {{ ref('int_record_states_listed') }}

),

loaded as (

    select * from {{ ref('loaded_extracts') }}
    where {{ in_loaded_partition() }}

),

frame as (

    select
        loaded.service_code,
        loaded.extract_date,
        loaded.previous_extract_date,
        entities.entity,
        entities.entity_order,
        changes.change_type,
        changes.change_order
    from loaded
    cross join (
        values
        {%- for record in tracked_records() %}
            ('{{ record.entity }}', {{ loop.index }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as entities (entity, entity_order)
    cross join (
        values ('added', 1), ('changed', 2), ('removed', 3), ('unchanged', 4)
    ) as changes (change_type, change_order)

),

version_counts as (

    select
        entity,
        change_type,
        count(*) as records
    from versions
    group by entity, change_type

),

state_counts as (

    select
        entity,
        count(*) as records
    from states
    group by entity

),

final as (

    select
        frame.service_code,
        frame.extract_date,
        frame.previous_extract_date,
        frame.entity,
        frame.change_type,
        case
            when frame.change_type = 'unchanged'
                then
                    coalesce(state_counts.records, 0)
                    - coalesce(added.records, 0)
                    - coalesce(changed.records, 0)
            else coalesce(version_counts.records, 0)
        end::integer as records
    from frame
    left join version_counts
        on
            frame.entity = version_counts.entity
            and frame.change_type = version_counts.change_type
    left join state_counts on frame.entity = state_counts.entity
    left join version_counts as added
        on
            frame.entity = added.entity
            and added.change_type = 'added'
    left join version_counts as changed
        on
            frame.entity = changed.entity
            and changed.change_type = 'changed'
    order by frame.service_code, frame.extract_date, frame.entity_order, frame.change_order

)

select * from final
