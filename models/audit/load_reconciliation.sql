{#- Nothing lost: for every file, rows read = rows staged + rows rejected, and rows read
    equal the manifest's count (the loader refuses an export where they differ). -#}

with

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

export_files as (

    select * from {{ ref('stg_dcrs__export_files') }}

),

triaged as (

    select
        'clients.csv' as file_name,
        rejection_reason
    from {{ ref('int_client_rows_triaged') }}
    union all
    select
        'goals.csv' as file_name,
        rejection_reason
    from {{ ref('int_goal_rows_triaged') }}
    union all
    select
        'wellbeing_scores.csv' as file_name,
        rejection_reason
    from {{ ref('int_wellbeing_score_rows_triaged') }}
    union all
    select
        'health_trainers.csv' as file_name,
        rejection_reason
    from {{ ref('int_health_trainer_rows_triaged') }}

),

staged as (

    select
        'clients.csv' as file_name,
        count(*) as rows_staged
    from {{ ref('int_clients_validated') }}
    union all
    select
        'goals.csv' as file_name,
        count(*) as rows_staged
    from {{ ref('int_goals_validated') }}
    union all
    select
        'wellbeing_scores.csv' as file_name,
        count(*) as rows_staged
    from {{ ref('int_wellbeing_scores_validated') }}
    union all
    select
        'health_trainers.csv' as file_name,
        count(*) as rows_staged
    from {{ ref('int_health_trainers_validated') }}

),

triage_counts as (

    select
        file_name,
        count(*) as rows_triaged,
        count(*) filter (where rejection_reason is not null) as rows_rejected
    from triaged
    group by file_name

),

final as (

    select
        manifest.service_code,
        manifest.extract_date,
        export_files.file_name,
        export_files.encoding,
        export_files.extra_columns,
        export_files.manifest_row_count,
        export_files.rows_read,
        coalesce(staged.rows_staged, 0) as rows_staged,
        coalesce(triage_counts.rows_rejected, 0) as rows_rejected,
        export_files.rows_read = coalesce(staged.rows_staged, 0)
        + coalesce(triage_counts.rows_rejected, 0)
        and export_files.rows_read = export_files.manifest_row_count
        and export_files.rows_read = coalesce(triage_counts.rows_triaged, 0) as reconciles
    from export_files
    cross join manifest
    left join staged on export_files.file_name = staged.file_name
    left join triage_counts on export_files.file_name = triage_counts.file_name

)

select * from final
