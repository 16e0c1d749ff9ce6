{{ config(materialized='table', pre_hook=[], alias='indicator_metadata') }}

{#- marts.indicator_metadata as it is: it describes the measures and holds no count. -#}

with

metadata as (

    select * from {{ ref('indicator_metadata') }}

),

final as (

    select * from metadata

)

select * from final
