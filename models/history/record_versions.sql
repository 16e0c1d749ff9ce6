{#- Type 2 history of every record: a new version whenever a record is added, changed
    or removed by an export, kept beside the earlier ones (nothing is overwritten). The
    loaded extract's states are compared with the latest earlier version of each record of
    the same service; the work grows with the extract and the versions, not with the number
    of extracts. Versions are compared by the hash of their values (DuckDB's hash of the
    list of values as text). -#}

with

states as (

    select * from {{ ref('int_record_states_listed') }}

),

loaded as (

    select * from {{ ref('loaded_extracts') }}
    where {{ in_loaded_partition() }}

),

{% if is_incremental() %}
latest_versions as (

    -- the loaded partition was deleted by the pre-hook: these are earlier versions
    select versions.*
    from {{ this }} as versions
    inner join loaded
        on
            versions.service_code = loaded.service_code
            and versions.extract_date < loaded.extract_date
    qualify row_number() over (
        partition by versions.service_code, versions.entity, versions.record_key
        order by versions.extract_date desc
    ) = 1

),
{% else %}
    latest_versions as (

        select
            service_code,
            extract_date,
            entity,
            record_key,
            'added' as change_type,
            field_names,
            field_values,
            state_hash
        from states
        where false

    ),
{% endif %}

current_records as (

    select * from latest_versions
    where change_type <> 'removed'

),

compared as (

    select
        loaded.service_code,
        loaded.extract_date,
        loaded.previous_extract_date,
        coalesce(states.entity, current_records.entity) as entity,
        coalesce(states.record_key, current_records.record_key) as record_key,
        case
            when current_records.record_key is null then 'added'
            when states.record_key is null then 'removed'
            when states.state_hash <> current_records.state_hash then 'changed'
        end as change_type,
        states.field_names,
        states.field_values,
        states.state_hash,
        current_records.field_names as previous_field_names,
        current_records.field_values as previous_field_values
    from states
    full outer join current_records
        on
            states.service_code = current_records.service_code
            and states.entity = current_records.entity
            and states.record_key = current_records.record_key
    cross join loaded

),

final as (

    select
        service_code,
        extract_date,
        previous_extract_date,
        entity,
        record_key,
        change_type,
        field_names,
        field_values,
        state_hash,
        case
            when change_type = 'changed'
                then list_filter(
                    field_names,
                    lambda field, position: field_values[position]
                    is distinct from previous_field_values[
                        list_position(previous_field_names, field)
                    ]
                )
        end as changed_fields
    from compared
    where change_type is not null

)

select * from final
