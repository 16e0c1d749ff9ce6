with

goals as (

    select * from {{ ref('stg_dcrs__goals') }}

),

rejected_lines as (

    -- the rows triage rejected (few): every other staged row is kept
    select source_line from {{ ref('int_goal_rows_triaged') }}
    where rejection_reason is not null

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

code_keys as (

    select * from {{ ref('int_code_lists_keyed') }}

),

coded as (

    select
        goals.*,
        manifest.service_code,
        manifest.extract_date,
        goal_codes.category as goal_category,
        outcome_codes.category as outcome_category

    from goals
    anti join rejected_lines on goals.source_line = rejected_lines.source_line
    cross join manifest
    {{ code_list_join('goal_codes', 'goal', 'goals.goal_key') }}
    {{ code_list_join('outcome_codes', 'outcome', 'goals.outcome_key') }}

),

checked as (

    select
        *,
        {{ date_issue('goal_set_date_value', 'goal_set_date') }} as goal_set_date_issue,
        {{ code_list_issue('goal_key', 'goal_category', 'goal') }} as goal_issue,
        {{ code_list_issue('outcome_key', 'outcome_category', 'outcome') }} as outcome_issue,
        {{ date_issue('outcome_date_value', 'outcome_date') }} as outcome_date_issue

    from coded

),

final as (

    select
        service_code,
        extract_date,
        goal_id,
        client_id,
        source_line,
        {{ usable('goal_set_date', 'goal_set_date_issue') }} as goal_set_date,
        coalesce(goal_category, 'Invalid') as goal,
        -- the goal's type is the part before the first dash ('Other' for Other)
        case
            when goal_category is null then 'Invalid'
            else split_part(goal_category, ' - ', 1)
        end as goal_type,
        case
            when outcome_issue is not null then 'Invalid'
            else outcome_category
        end as outcome,
        {{ usable('outcome_date', 'outcome_date_issue') }} as outcome_date,
        goal_set_date_value,
        goal_set_date_issue,
        goal_value,
        goal_issue,
        outcome_value,
        outcome_issue,
        outcome_date_value,
        outcome_date_issue

    from checked

)

select * from final
