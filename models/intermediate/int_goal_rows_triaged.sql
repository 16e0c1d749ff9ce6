{#- Row-level rules for goals.csv: a row with a row-level issue (int_goal_rows_checked: no
    goal_id, no client_id, a blank goal, or a client not kept from clients.csv) is
    unusable; of the other rows sharing a goal_id the later one in the file is kept. -#}

with

checked as (

    select * from {{ ref('int_goal_rows_checked') }}

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
