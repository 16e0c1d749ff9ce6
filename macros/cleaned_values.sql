{#- Label and date columns hold few distinct values (a few hundred labels, some thousands of
    dates) in up to millions of rows, and cleaning a value row by row is most of what a
    staging model costs. cleaned_values, the body of a CTE that must be named
    cleaned_values, cleans, keys and parses each distinct raw value of the given columns
    once (clean_text, label_key, parse_uk_date; `union` keeps each raw value once, so the
    joins cannot multiply rows). join_cleaned_values joins it back to the rows, once per
    column as <column>_cleaned, on the raw text. A null raw value joins nothing, so its
    cleaned value, key and date stay null, as the macros give for null. -#}

{% macro cleaned_values(relation, columns) -%}
    with

    distinct_values as (
        {% for column in columns %}
        select {{ column }} as raw_value from {{ relation }}
        {%- if not loop.last %}
        union
        {%- endif %}
        {%- endfor %}

    )

    select
        raw_value,
        {{ clean_text('raw_value') }} as cleaned_value,
        {{ label_key('raw_value') }} as value_key,
        {{ parse_uk_date('raw_value') }} as date_value

    from distinct_values
    where raw_value is not null
{%- endmacro %}

{% macro join_cleaned_values(relation, columns) -%}
    {%- for column in columns %}
    left join cleaned_values as {{ column }}_cleaned
        on {{ relation }}.{{ column }} = {{ column }}_cleaned.raw_value
    {%- endfor %}
{%- endmacro %}
