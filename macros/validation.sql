{#- Value checks shared by the intermediate models. Each returns the reason a recorded
    value cannot be used, or null when it is usable or blank. -#}

{% macro code_list_join(alias, code_list, key_expression) -%}
    left join code_keys as {{ alias }}
        on
            {{ alias }}.code_list = '{{ code_list }}'
            and {{ alias }}.code_key = {{ key_expression }}
{%- endmacro %}

{% macro code_list_issue(key_expression, category_expression, code_list) -%}
    case
        when {{ key_expression }} is not null and {{ category_expression }} is null
            then 'not in the {{ code_list }} code list'
    end
{%- endmacro %}

{% macro date_issue(value_expression, date_expression, extract_date='extract_date') -%}
    case
        when {{ value_expression }} is not null and {{ date_expression }} is null
            then 'not a DD/MM/YYYY date'
        when {{ date_expression }} > {{ extract_date }} then 'after the extract date'
    end
{%- endmacro %}

{% macro number_issue(value_expression, number_expression, low, high, range_text) -%}
    case
        when {{ value_expression }} is not null and {{ number_expression }} is null
            then 'not a number'
        when
            {{ number_expression }} < {{ low }} or {{ number_expression }} > {{ high }}
            then 'outside {{ range_text }}'
    end
{%- endmacro %}

{#- Keep a value only when it has no issue: the usable value, or null. -#}
{% macro usable(expression, issue_expression) -%}
    case when ({{ issue_expression }}) is null then {{ expression }} end
{%- endmacro %}

{#- A coded value: its category, 'Invalid' when the recorded value failed validation,
    null when blank. -#}
{% macro coded_value(category_expression, issue_expression) -%}
    case when {{ issue_expression }} is not null then 'Invalid' else {{ category_expression }} end
{%- endmacro %}
