{#- Everything in the export that could not be used as it stands: rows rejected (with
    the column and rule that rejected them) and values counted as Invalid, with the value
    as recorded. In the private store (the values are a record's: ids, labels, dates);
    audit.load_issues in the warehouse lists the same problems without the values. Values
    of date_of_birth and postcode are withheld even here: they never leave staging; so
    is a ward that holds digits (a postcode typed into the field: int_clients_validated). -#}

{{ config(database='private') }}

with

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

client_rows as (

    select * from {{ ref('int_client_rows_triaged') }}

),

goal_rows as (

    select * from {{ ref('int_goal_rows_triaged') }}

),

score_rows as (

    select * from {{ ref('int_wellbeing_score_rows_triaged') }}

),

trainer_rows as (

    select * from {{ ref('int_health_trainer_rows_triaged') }}

),

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

scores as (

    select * from {{ ref('int_wellbeing_scores_validated') }}

),

trainers as (

    select * from {{ ref('int_health_trainers_validated') }}

),

issues as (

    {{ rejected_rows('client_rows', 'clients.csv') }}
    union all
    {{ rejected_rows('goal_rows', 'goals.csv') }}
    union all
    {{ rejected_rows('score_rows', 'wellbeing_scores.csv') }}
    union all
    {{ rejected_rows('trainer_rows', 'health_trainers.csv') }}
    union all
    {{ unusable_values('clients', 'clients.csv', [
        ('health_trainer_id', 'health_trainer_id'),
        ('gender', 'gender_value'),
        ('date_of_birth', "'(withheld: date of birth)'"),
        ('ethnicity', 'ethnicity_value'),
        ('disability', 'disability_value'),
        ('postcode', "'(withheld: postcode)'"),
        ('ward', 'ward_value'),
        ('deprivation_quintile', 'deprivation_quintile_value'),
        ('how_heard', 'how_heard_value'),
        ('referral_source', 'referral_source_value'),
        ('eligible', 'eligible_value'),
        ('initial_assessment_date', 'initial_assessment_date_value'),
        ('primary_health_issue', 'primary_health_issue_value'),
        ('bmi', 'bmi_value'),
        ('signposted_to', 'signposted_to_value'),
    ]) }}
    union all
    {{ unusable_values('goals', 'goals.csv', [
        ('goal_set_date', 'goal_set_date_value'),
        ('goal', 'goal_value'),
        ('outcome', 'outcome_value'),
        ('outcome_date', 'outcome_date_value'),
    ]) }}
    union all
    {{ unusable_values('scores', 'wellbeing_scores.csv', [
        ('instrument', 'instrument_value'),
        ('stage', 'stage_value'),
        ('score', 'score_value'),
        ('recorded_date', 'recorded_date_value'),
    ]) }}
    union all
    {{ unusable_values('trainers', 'health_trainers.csv', [
        ('role', 'role_value'),
        ('wte', 'wte_value'),
        ('start_date', 'start_date_value'),
        ('end_date', 'end_date_value'),
    ]) }}

),

final as (

    select
        manifest.service_code,
        manifest.extract_date,
        issues.file_name,
        issues.line,
        issues.column_name,
        issues.value,
        issues.reason,
        issues.outcome
    from issues
    cross join manifest
    order by issues.file_name, issues.line, issues.column_name

)

select * from final
