{#- Row-level rules for wellbeing_scores.csv: a row with a row-level issue
    (int_wellbeing_score_rows_checked: no client_id, or a client not kept from
    clients.csv) is unusable; of the other rows for the same client, instrument and stage
    the later one in the file is kept. -#}

with

checked as (

    select * from {{ ref('int_wellbeing_score_rows_checked') }}

),

duplicates_ranked as (

    select
        *,
        case
            when row_issue is null
                then max(source_line) over (
                    partition by client_id, instrument_key, stage_key, row_issue is null
                )
        end as kept_line

    from checked

),

triaged as (

    select
        source_line,
        client_id,
        rejection_column,
        rejected_value,
        coalesce(
            row_issue,
            case
                when source_line <> kept_line
                    then
                        'duplicate score for this client, instrument and stage: line '
                        || kept_line || ' is kept instead'
            end
        ) as rejection_reason
    from duplicates_ranked

),

final as (

    -- what rejected the row, only where it was rejected
    select
        source_line,
        client_id,
        case when rejection_reason is not null then rejection_column end as rejection_column,
        case when rejection_reason is not null then rejected_value end as rejected_value,
        rejection_reason
    from triaged

)

select * from final
