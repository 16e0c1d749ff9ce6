{#- Row-level rules for goals.csv: no goal_id, no client_id, a blank goal, or a client
    not kept from clients.csv make the row unusable; of rows sharing a goal_id the later
    one in the file is kept. -#}

with

goals as (

    select * from {{ ref('stg_dcrs__goals') }}

),

kept_clients as (

    select client_id
    from {{ ref('int_client_rows_triaged') }}
    where rejection_reason is null

),

checked as (

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
                then 'client_id ' || goals.client_id || ' is not a staged client'
        end as row_issue

    from goals
    left join kept_clients on goals.client_id = kept_clients.client_id

),

duplicates_ranked as (

    select
        *,
        case
            when row_issue is null
                then max(source_line) over (partition by goal_id, row_issue is null)
        end as kept_line

    from checked

),

triaged as (

    select
        source_line,
        goal_id,
        rejection_column,
        rejected_value,
        coalesce(
            row_issue,
            case
                when source_line <> kept_line
                    then 'duplicate goal_id: line ' || kept_line || ' is kept instead'
            end
        ) as rejection_reason
    from duplicates_ranked

),

final as (

    -- what rejected the row, only where it was rejected
    select
        source_line,
        goal_id,
        case when rejection_reason is not null then rejection_column end as rejection_column,
        case when rejection_reason is not null then rejected_value end as rejected_value,
        rejection_reason
    from triaged

)

select * from final
