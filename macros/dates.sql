{#- UK dates as exports print them: DD/MM/YYYY, or D/M/YYYY without leading zeros.
    Anything else (including impossible dates such as 31/02/2010) gives null. -#}
{% macro parse_uk_date(expression) -%}
    case
        when regexp_full_match(trim({{ expression }}), '[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}')
            then try_strptime(trim({{ expression }}), '%d/%m/%Y')::date
    end
{%- endmacro %}
