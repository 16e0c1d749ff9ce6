{#- Row-level rules for wellbeing_scores.csv, before duplicates are looked for: no
    client_id, or a client not kept from clients.csv, make the row unusable (row_issue).
    int_wellbeing_score_rows_triaged then keeps the later of rows for the same client,
    instrument and stage.

    A model of its own, so that the join to the kept clients and the window over clients,
    instruments and stages run as two queries: in one, under a small DuckDB limit and
    beside another model, they ran out of memory, though each alone spilled to disk. -#}

with

scores as (

    select * from {{ ref('stg_dcrs__wellbeing_scores') }}

),

kept_clients as (

    select client_id from {{ ref('int_clients_validated') }}

),

final as (

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
                then 'client_id is not a staged client'
        end as row_issue

    from scores
    left join kept_clients on scores.client_id = kept_clients.client_id

)

select * from final
