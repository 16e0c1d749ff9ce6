{#- The state of every record of the loaded extract: its tracked fields' values as text,
    in the order of field_names, with a hash of them. history.record_versions compares
    these with each record's latest earlier version. A view: lists and hashes cost little,
    and the state of a million records is not worth writing down again. -#}

{{ config(materialized='view') }}

with

{% for record in tracked_records() %}
    {{ record.entity }}_records as (

        select * from {{ ref(record.model) }}

    ),

    {{ record.entity }}_states as (

        select
            service_code,
            extract_date,
            '{{ record.entity }}' as entity,
            concat_ws(' | ', {{ record.key | join(', ') }}) as record_key,
            [
                {%- for field in record.fields %}
                    '{{ field }}'{% if not loop.last %},{% endif %}
                {%- endfor %}
            ] as field_names,
            [
                {%- for field in record.fields %}
                    {{ field }}::varchar{% if not loop.last %},{% endif %}
                {%- endfor %}
            ] as field_values
        from {{ record.entity }}_records

    ),

{% endfor %}
unioned as (

    {% for record in tracked_records() %}
        select * from {{ record.entity }}_states
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        service_code,
        extract_date,
        entity,
        record_key,
        field_names,
        field_values,
        hash(field_values) as state_hash
    from unioned

)

select * from final
