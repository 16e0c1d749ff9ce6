{#- The version of the warehouse's tables (the dbt variable warehouse_schema_version): a run
    refuses a warehouse of another version, which `dcrs rebuild` makes anew. -#}

{{ config(materialized='table', pre_hook=[]) }}

with

final as (

    select
        {{ var('warehouse_schema_version') }}::integer as schema_version,
        '{{ invocation_id }}' as built_by_run_id,
        '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}'::timestamp as built_at

)

select * from final
