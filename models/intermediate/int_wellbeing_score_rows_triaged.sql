{#- Row-level rules for wellbeing_scores.csv: no client_id, or a client not kept from
    clients.csv, make the row unusable; of rows for the same client, instrument and stage
    the later one in the file is kept. -#}

with

scores as (

    select * from {{ ref('stg_dcrs__wellbeing_scores') }}

),

kept_clients as (

    select client_id
    from {{ ref('int_client_rows_triaged') }}
    where rejection_reason is null

),

checked as (

    select
        scores.source_line,
        scores.client_id,
        scores.instrument_key,
        scores.stage_key,
        case
            when scores.client_id is null or kept_clients.client_id is null then 'client_id'
            else 'instrument, stage'
        end as rejection_column,
        case
            when scores.client_id is null or kept_clients.client_id is null then scores.client_id
            else scores.instrument_value || ', ' || scores.stage_value
        end as rejected_value,
        case
            when scores.client_id is null then 'client_id is blank'
            when kept_clients.client_id is null
                then 'client_id ' || scores.client_id || ' is not a staged client'
        end as row_issue

    from scores
    left join kept_clients on scores.client_id = kept_clients.client_id

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
