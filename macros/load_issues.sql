{#- Rows rejected by a triage model, in the shape of audit.load_issues. -#}
{% macro rejected_rows(triaged_cte, file_name) -%}
    select
        '{{ file_name }}' as file_name,
        source_line as line,
        rejection_column as column_name,
        rejected_value as value,
        rejection_reason as reason,
        'row rejected' as outcome,
    from {{ triaged_cte }}
    where rejection_reason is not null
{%- endmacro %}

{#- Values that could not be used in the rows kept by a validated model: one branch per
    field, from its <field>_issue column and the value recorded. Fields given as
    (field, value expression). -#}
{% macro unusable_values(validated_cte, file_name, fields) -%}
    {%- for field, value_expression in fields %}
    select
        '{{ file_name }}' as file_name,
        source_line as line,
        '{{ field }}' as column_name,
        {{ value_expression }} as value,
        {{ field }}_issue as reason,
        'value counted as Invalid' as outcome,
    from {{ validated_cte }}
    where {{ field }}_issue is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
