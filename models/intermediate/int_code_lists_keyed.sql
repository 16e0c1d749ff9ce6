with

code_lists as (

    select * from {{ ref('code_lists') }}

),

keyed as (

    select
        code_list,
        code,
        {{ label_key('code') }} as code_key,
        category,
        code_order

    from code_lists

)

select * from keyed
