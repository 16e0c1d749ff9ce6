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

{#- Wards (the export contract, "Code lists", "Wards"). A ward holding digits is no ward
    name: a postcode, or part of an address, typed into the field. Where the service has
    a ward list (has_ward_list), a ward not on it (is_listed_ward false) is Invalid too;
    without a list, any other name is a ward. -#}
{% macro ward_holds_digits(value_expression) -%}
    regexp_matches({{ value_expression }}, '[0-9]')
{%- endmacro %}

{% macro ward_looks_like_postcode(value_expression) -%}
    regexp_full_match(
        upper(regexp_replace({{ value_expression }}, '\s', '', 'g')),
        '[A-Z][A-Z]?[0-9][A-Z0-9]?([0-9][A-Z][A-Z])?'
    )
{%- endmacro %}

{% macro ward_issue(value_expression, has_ward_list, is_listed_ward) -%}
    case
        when {{ value_expression }} is null then null
        when {{ has_ward_list }} and {{ is_listed_ward }} then null
        when {{ ward_looks_like_postcode(value_expression) }}
            then 'looks like a postcode, not a ward name'
        when {{ ward_holds_digits(value_expression) }} then 'holds digits, not a ward name'
        when {{ has_ward_list }} then 'not in the service''s ward list'
    end
{%- endmacro %}
