with

trainers as (

    select * from {{ ref('stg_dcrs__health_trainers') }}

),

rejected_lines as (

    -- the rows triage rejected (few): every other staged row is kept
    select source_line from {{ ref('int_health_trainer_rows_triaged') }}
    where rejection_reason is not null

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

code_keys as (

    select * from {{ ref('int_code_lists_keyed') }}

),

checked as (

    select
        trainers.*,
        manifest.service_code,
        manifest.extract_date,
        role_codes.category as role_category,
        {{ code_list_issue('trainers.role_key', 'role_codes.category', 'role') }} as role_issue,
        case
            when trainers.wte_value is not null and trainers.wte is null then 'not a number'
            when trainers.wte <= 0 or trainers.wte > 1 then 'outside (0, 1]'
        end as wte_issue,
        {{ date_issue(
            'trainers.start_date_value', 'trainers.start_date', 'manifest.extract_date'
        ) }} as start_date_issue,
        {{ date_issue('trainers.end_date_value', 'trainers.end_date', 'manifest.extract_date') }}
            as end_date_issue

    from trainers
    anti join rejected_lines on trainers.source_line = rejected_lines.source_line
    cross join manifest
    {{ code_list_join('role_codes', 'role', 'trainers.role_key') }}

),

final as (

    select
        service_code,
        extract_date,
        health_trainer_id,
        source_line,
        {{ usable('role_category', 'role_issue') }} as role,
        locality,
        {{ usable('wte', 'wte_issue') }} as wte,
        {{ usable('start_date', 'start_date_issue') }} as start_date,
        {{ usable('end_date', 'end_date_issue') }} as end_date,
        coalesce(start_date <= extract_date, true)
        and (end_date is null or end_date >= extract_date) as is_in_post,
        role_value,
        role_issue,
        wte_value,
        wte_issue,
        start_date_value,
        start_date_issue,
        end_date_value,
        end_date_issue

    from checked

)

select * from final
