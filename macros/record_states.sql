{#- The fields whose values are tracked from extract to extract, for each kind of record:
    the validated values the measures are built from (dates of birth and full postcodes
    never leave staging, so age and postcode district stand in for them). A wellbeing
    score whose instrument or stage is in no code list (`Invalid`) is keyed by its label,
    as the triage compares it, so that two such scores of a client stay apart. -#}
{% macro tracked_records() -%}
    {{ return([
        {
            'entity': 'client',
            'model': 'int_clients_validated',
            'key': ['client_id'],
            'fields': [
                'registration_date', 'health_trainer_id', 'gender', 'age_at_registration',
                'ethnicity', 'disability', 'postcode_district', 'ward_name',
                'deprivation_quintile', 'how_heard', 'referral_source', 'referral_source_other',
                'eligibility', 'initial_assessment_date', 'primary_health_issue', 'bmi',
                'signposted_to',
            ],
        },
        {
            'entity': 'goal',
            'model': 'int_goals_validated',
            'key': ['goal_id'],
            'fields': ['client_id', 'goal_set_date', 'goal', 'goal_type', 'outcome', 'outcome_date'],
        },
        {
            'entity': 'wellbeing_score',
            'model': 'int_wellbeing_scores_validated',
            'key': [
                'client_id',
                "case when instrument = 'Invalid' then 'Invalid ' || coalesce(lower(instrument_value), '') else instrument end",
                "case when stage = 'Invalid' then 'Invalid ' || coalesce(lower(stage_value), '') else stage end",
            ],
            'fields': ['score', 'score_percent', 'recorded_date'],
        },
        {
            'entity': 'health_trainer',
            'model': 'int_health_trainers_validated',
            'key': ['health_trainer_id'],
            'fields': ['role', 'locality', 'wte', 'start_date', 'end_date'],
        },
    ]) }}
{%- endmacro %}
