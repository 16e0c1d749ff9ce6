{#- The state of every record of the loaded extract, as a map of field to value (text),
    with a hash of it: what history.record_versions compares with the latest earlier
    version of the same record. -#}

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
            map_from_entries([
                {%- for field in record.fields %}
                    ('{{ field }}', {{ field }}::varchar){% if not loop.last %},{% endif %}
                {%- endfor %}
            ]) as field_values
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
        field_values,
        hash(field_values) as state_hash
    from unioned

)

select * from final
