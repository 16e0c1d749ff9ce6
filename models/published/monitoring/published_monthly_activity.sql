{#- marts.monthly_activity under disclosure control (macros/disclosure.sql): every monthly
    count 0, suppressed (1 to the threshold, or a complementary suppression chosen by
    published_complementary_suppressions, so that no suppressed month can be worked out
    from the other months, the extract's totals or other extracts) or rounded to the
    base. Null when suppressed. -#}

{%- set counts = disclosure_monthly_activity_counts() %}

with

activity as (

    select * from {{ ref('monthly_activity') }}
    where {{ in_loaded_partition() }}

),

complementary as (

    select * from {{ ref('published_complementary_suppressions') }}
    where {{ in_loaded_partition() }} and table_name = 'monthly_activity'

),

activity_flagged as (

    select
        activity.service_code,
        activity.extract_date,
        activity.month,
        {% for column in counts -%}
            activity.{{ column }},
            coalesce(bool_or(complementary.column_name = '{{ column }}'), false)
                as {{ column }}_is_complementary{% if not loop.last %},{% endif %}
        {% endfor -%}
    from activity
    left join complementary
        on
            activity.service_code = complementary.service_code
            and activity.extract_date = complementary.extract_date
            and activity.month::varchar = complementary.row_key
    group by all

),

final as (

    select
        service_code,
        extract_date,
        month,
        {% for column in counts -%}
            {{ disclosure_count(column, column ~ '_is_complementary') }} as {{ column }},
        {% endfor -%}
        (
            {% for column in counts -%}
                {{ disclosure_is_suppressed(column, column ~ '_is_complementary') }}
                {%- if not loop.last %} or {% endif %}
            {% endfor -%}
        ) as has_suppressed_count
    from activity_flagged
    order by service_code, extract_date, month

)

select * from final
