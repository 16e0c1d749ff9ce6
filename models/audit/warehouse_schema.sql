{#- The version of the warehouse's tables (the dbt variable warehouse_schema_version): a run
    refuses a warehouse of another version, which `dcrs rebuild` makes anew. -#}

{{ config(materialized='table', pre_hook=[]) }}

with

final as (

    select
        {{ var('warehouse_schema_version') }}::integer as schema_version

)

select * from final
