{#- The disclosure rule the published tables follow (macros/disclosure.sql), for the
    published report's notice: from the dbt vars, checked as every published model
    checks them. -#}
{%- set settings = disclosure_settings() %}

with

final as (

    select
        {{ settings.suppress_max }} as suppress_max,
        {{ settings.base }} as rounding_base

)

select * from final
