{#- One mart table per measure: that measure's rows of measure_breakdown. -#}
{% macro measure_table(measure_id) -%}
with

breakdown as (

    select * from {{ ref('measure_breakdown') }}

),

final as (

    select *
    from breakdown
    where measure_id = '{{ measure_id }}'

)

select * from final
{%- endmacro %}
