{#- What changed between an extract and the one loaded before it, field by field: for
    each tracked field of each kind of record, how many records kept in both extracts
    hold a different value (an outcome recorded later, a corrected ethnicity). -#}

with

versions as (

    select * from {{ ref('record_versions') }}
    where {{ in_loaded_partition() }}

),

loaded as (

    select * from {{ ref('loaded_extracts') }}
    where {{ in_loaded_partition() }}

),

tracked_fields as (

    select
        tracked.entity,
        tracked.field,
        tracked.field_order
    from (
        values
        {%- for record in tracked_records() %}
            {%- set entity_index = loop.index %}
            {%- set last_record = loop.last %}
            {%- for field in record.fields %}
                ('{{ record.entity }}', '{{ field }}', {{ entity_index * 100 + loop.index }})
                {%- if not (last_record and loop.last) %},{% endif %}
            {%- endfor %}
        {%- endfor %}
    ) as tracked (entity, field, field_order)

),

changed_fields as (

    select
        entity,
        unnest(changed_fields) as field
    from versions
    where change_type = 'changed'

),

field_counts as (

    select
        entity,
        field,
        count(*) as records_changed
    from changed_fields
    group by entity, field

),

final as (

    select
        loaded.service_code,
        loaded.extract_date,
        loaded.previous_extract_date,
        tracked_fields.entity,
        tracked_fields.field,
        coalesce(field_counts.records_changed, 0)::integer as records_changed
    from loaded
    cross join tracked_fields
    left join field_counts
        on
            tracked_fields.entity = field_counts.entity
            and tracked_fields.field = field_counts.field
    order by loaded.service_code, loaded.extract_date, tracked_fields.field_order

)

select * from final
