{#- The rows of the latest extract of each service in a model that keeps every extract
    (its greatest extract_date per service_code): a BI chart of "this month" reads these
    views instead of filtering on the extract date. -#}
{% macro latest_extract_rows(model_name) -%}
with

extracts as (

    select * from {{ ref(model_name) }}

),

final as (

    select *
    from extracts
    qualify extract_date = max(extract_date) over (partition by service_code)

)

select * from final
{%- endmacro %}
