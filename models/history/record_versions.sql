{#- Type 2 history of every record: a new version whenever a record is added, changed
    or removed by an export, kept beside the earlier ones (nothing is overwritten). The
    loaded extract's states are compared with the latest earlier version of each record of
    the same service (values are written for new versions only); the work grows with the
    extract and the versions, not with the number of extracts. Versions are compared by
    the hash of their values (DuckDB's hash of the list of values as text).

    DuckDB writes down a CTE that is read more than once before reading it, so no CTE
    that holds values is read twice: the states (every record with its values) are read
    once, and the removals read the keys again from int_record_states_listed; the earlier
    versions are read for their hashes, and again, for the changed records only, for
    their values; a first load (no earlier versions) looks nothing up. At a million
    clients, writing the states down spilled to disk and took about 5 s of this model's
    9-12 s. -#}

{#- A row per record with its values: in the private store (profiles.yml). The warehouse
    keeps the counts (marts.record_changes, marts.field_changes). -#}
{{ config(database='private') }}

with

states as (

    select * from {{ ref('int_record_states_listed') }}

),

state_keys as (

    -- the keys alone: a second read of the view, which computes no values or hashes
    select
        service_code,
        entity,
        record_key
    from {{ ref('int_record_states_listed') }}

),

loaded as (

    select * from {{ ref('loaded_extracts') }}
    where {{ in_loaded_partition() }}

),

{% if is_incremental() %}
earlier_versions as (

    -- the loaded partition was deleted by the pre-hook: these are earlier versions (their
    -- keys, hashes and dates; the values are read only for the changed records, below)
    select
        versions.service_code,
        versions.entity,
        versions.record_key,
        versions.extract_date,
        versions.change_type,
        versions.state_hash
    from {{ this }} as versions
    inner join loaded
        on
            versions.service_code = loaded.service_code
            and versions.extract_date < loaded.extract_date

),

latest_versions as (

    -- each record's latest version: an aggregate of small values (hash, kind, date),
    -- which DuckDB can spill, rather than a window over every version
    select
        service_code,
        entity,
        record_key,
        max(extract_date) as extract_date,
        arg_max(change_type, extract_date) as change_type,
        arg_max(state_hash, extract_date) as state_hash
    from earlier_versions
    group by service_code, entity, record_key

),
{% else %}
    -- a first load: no earlier versions (typed, empty, and not read from the states)
    latest_versions as (

        select
            null::varchar as service_code,
            null::varchar as entity,
            null::varchar as record_key,
            null::date as extract_date,
            null::varchar as change_type,
            null::ubigint as state_hash
        where false

    ),
{% endif %}

current_records as (

    select * from latest_versions
    where change_type <> 'removed'

),

new_versions as (

    -- added and changed records with their values: the loaded states stream past each
    -- record's current version (keys and hashes only, the side held in memory); states
    -- whose hash is unchanged add nothing
    select
        loaded.service_code,
        loaded.extract_date,
        loaded.previous_extract_date,
        states.entity,
        states.record_key,
        case
            when current_records.record_key is null then 'added' else 'changed'
        end as change_type,
        states.field_names,
        states.field_values,
        states.state_hash,
        current_records.extract_date as current_extract_date
    from states
    cross join loaded
    left join current_records
        on
            states.service_code = current_records.service_code
            and states.entity = current_records.entity
            and states.record_key = current_records.record_key
    where
        current_records.record_key is null
        or states.state_hash <> current_records.state_hash

),

removed_versions as (

    -- current records the loaded extract no longer holds
    select
        loaded.service_code,
        loaded.extract_date,
        loaded.previous_extract_date,
        current_records.entity,
        current_records.record_key,
        'removed' as change_type,
        null::varchar[] as field_names,
        null::varchar[] as field_values,
        null::ubigint as state_hash,
        current_records.extract_date as current_extract_date
    from current_records
    cross join loaded
    anti join state_keys
        on
            current_records.service_code = state_keys.service_code
            and current_records.entity = state_keys.entity
            and current_records.record_key = state_keys.record_key

),

compared as (

    select * from new_versions
    union all
    select * from removed_versions

),

{% if is_incremental() %}
changed_records as (

    select * from compared
    where change_type = 'changed'

),

previous_values as (

    -- the values replaced, for the changed records only (a few percent a month)
    select
        changed_records.service_code,
        changed_records.entity,
        changed_records.record_key,
        replaced_versions.field_names as previous_field_names,
        replaced_versions.field_values as previous_field_values
    from changed_records
    inner join {{ this }} as replaced_versions
        on
            changed_records.service_code = replaced_versions.service_code
            and changed_records.entity = replaced_versions.entity
            and changed_records.record_key = replaced_versions.record_key
            and changed_records.current_extract_date = replaced_versions.extract_date

),
{% else %}
    previous_values as (

        -- a first load adds every record: nothing changed, nothing to look up
        select
            null::varchar as service_code,
            null::varchar as entity,
            null::varchar as record_key,
            null::varchar[] as previous_field_names,
            null::varchar[] as previous_field_values
        where false

    ),
{% endif %}

with_previous_values as (

    select
        compared.*,
        previous_values.previous_field_names,
        previous_values.previous_field_values
    from compared
    left join previous_values
        on
            compared.service_code = previous_values.service_code
            and compared.entity = previous_values.entity
            and compared.record_key = previous_values.record_key

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
                then list_transform(
                    list_filter(
                        range(1, len(field_names) + 1),
                        lambda position: field_values[position]
                        is distinct from previous_field_values[
                            list_position(previous_field_names, field_names[position])
                        ]
                    ),
                    lambda position: field_names[position]
                )
        end as changed_fields
    from with_previous_values

)

select * from final
