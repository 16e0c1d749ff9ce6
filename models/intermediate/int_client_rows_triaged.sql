{#- Row-level rules of the export contract for clients.csv: a row without client_id or
    a usable registration_date cannot be used; of rows sharing a client_id the later one
    in the file is kept. -#}

with

clients as (

    select * from {{ ref('stg_dcrs__clients') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

checked as (

    select
        clients.source_line,
        clients.client_id,
        case
            when clients.client_id is null then 'client_id'
            when
                clients.registration_date is null
                or clients.registration_date > manifest.extract_date then 'registration_date'
        end as issue_column,
        case
            when clients.client_id is null then null
            when
                clients.registration_date is null
                or clients.registration_date > manifest.extract_date
                then clients.registration_date_value
        end as issue_value,
        case
            when clients.client_id is null then 'client_id is blank'
            when clients.registration_date_value is null then 'registration_date is blank'
            when clients.registration_date is null
                then 'registration_date is not a DD/MM/YYYY date'
            when clients.registration_date > manifest.extract_date
                then 'registration_date is after the extract date'
        end as row_issue

    from clients
    cross join manifest

),

duplicates_ranked as (

    select
        *,
        case
            when row_issue is null
                then
                    max(source_line) over (partition by client_id, row_issue is null)
        end as kept_line

    from checked

),

final as (

    select
        source_line,
        client_id,
        case
            when row_issue is not null then issue_column
            when source_line <> kept_line then 'client_id'
        end as rejection_column,
        case
            when row_issue is not null then issue_value
            when source_line <> kept_line then client_id
        end as rejected_value,
        coalesce(
            row_issue,
            case
                when source_line <> kept_line
                    then 'duplicate client_id: line ' || kept_line || ' is kept instead'
            end
        ) as rejection_reason

    from duplicates_ranked

)

select * from final
