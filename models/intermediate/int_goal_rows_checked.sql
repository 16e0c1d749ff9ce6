{#- Row-level rules for goals.csv, before duplicates are looked for: no goal_id, no
    client_id, a blank goal, or a client not kept from clients.csv make the row unusable
    (row_issue). int_goal_rows_triaged then keeps the later of rows sharing a goal_id.

    A model of its own, so that the join to the kept clients and the window over goal_ids
    run as two queries: in one, at 1M goals under a small DuckDB limit and beside another
    model, they ran out of memory, though each alone spilled to disk. -#}

with

goals as (

    select * from {{ ref('stg_dcrs__goals') }}

),

kept_clients as (

    select client_id from {{ ref('int_clients_validated') }}

),

final as (

    select
        goals.source_line,
        goals.goal_id,
        case
            when goals.goal_id is null then 'goal_id'
            when goals.client_id is null then 'client_id'
            when goals.goal_value is null then 'goal'
            when kept_clients.client_id is null then 'client_id'
            else 'goal_id'
        end as rejection_column,
        case
            when goals.goal_id is null or goals.goal_value is null then null
            when goals.client_id is null or kept_clients.client_id is null then goals.client_id
            else goals.goal_id
        end as rejected_value,
        case
            when goals.goal_id is null then 'goal_id is blank'
            when goals.client_id is null then 'client_id is blank'
            when goals.goal_value is null then 'goal is blank'
            when kept_clients.client_id is null
                then 'client_id is not a staged client'
        end as row_issue

    from goals
    left join kept_clients on goals.client_id = kept_clients.client_id

)

select * from final
