{#- Privacy: date_of_birth and postcode are read here and never leave this model. It
    passes on the age in whole years on the registration date and the postcode district
    (outward code), with whether each value was recorded and valid.

    Labels and dates are cleaned once per distinct value (macros/cleaned_values.sql);
    identifiers (nearly all distinct), the free text of referral_source_other and the
    postcode row by row. -#}
{%- set cleaned_columns = [
    'registration_date',
    'gender',
    'date_of_birth',
    'ethnicity',
    'disability',
    'ward',
    'deprivation_quintile',
    'how_heard',
    'referral_source',
    'eligible',
    'initial_assessment_date',
    'primary_health_issue',
    'bmi',
    'signposted_to',
] -%}

with

source as (

    select * from {{ source('dcrs', 'clients') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

cleaned_values as (

    {{ cleaned_values('source', cleaned_columns) }}

),

typed as (

    select
        source.source_line,
        {{ clean_text('source.client_id') }} as client_id,
        {{ clean_text('source.health_trainer_id') }} as health_trainer_id,
        registration_date_cleaned.cleaned_value as registration_date_value,
        registration_date_cleaned.date_value as registration_date,
        gender_cleaned.cleaned_value as gender_value,
        gender_cleaned.value_key as gender_key,
        date_of_birth_cleaned.cleaned_value as date_of_birth_text,
        date_of_birth_cleaned.date_value as date_of_birth,
        ethnicity_cleaned.cleaned_value as ethnicity_value,
        ethnicity_cleaned.value_key as ethnicity_key,
        disability_cleaned.cleaned_value as disability_value,
        disability_cleaned.value_key as disability_key,
        nullif(upper(regexp_replace(source.postcode, '\s', '', 'g')), '') as postcode,
        ward_cleaned.cleaned_value as ward_value,
        ward_cleaned.value_key as ward_key,
        deprivation_quintile_cleaned.cleaned_value as deprivation_quintile_value,
        deprivation_quintile_cleaned.value_key as deprivation_quintile_key,
        how_heard_cleaned.cleaned_value as how_heard_value,
        how_heard_cleaned.value_key as how_heard_key,
        referral_source_cleaned.cleaned_value as referral_source_value,
        referral_source_cleaned.value_key as referral_source_key,
        {{ clean_text('source.referral_source_other') }} as referral_source_other,
        eligible_cleaned.cleaned_value as eligible_value,
        eligible_cleaned.value_key as eligible_key,
        initial_assessment_date_cleaned.cleaned_value as initial_assessment_date_value,
        initial_assessment_date_cleaned.date_value as initial_assessment_date,
        primary_health_issue_cleaned.cleaned_value as primary_health_issue_value,
        primary_health_issue_cleaned.value_key as primary_health_issue_key,
        bmi_cleaned.cleaned_value as bmi_value,
        try_cast(trim(source.bmi) as double) as bmi,
        signposted_to_cleaned.cleaned_value as signposted_to_value,
        signposted_to_cleaned.value_key as signposted_to_key,
        manifest.extract_date

    from source
    cross join manifest
    {{ join_cleaned_values('source', cleaned_columns) }}

),

private_values_reduced as (

    select
        *,
        case
            when date_of_birth_text is null then 'not recorded'
            when lower(date_of_birth_text) = 'declined' then 'declined'
            when date_of_birth is null then 'invalid'
            when date_of_birth > extract_date then 'invalid'
            when date_of_birth > registration_date then 'invalid'
            when
                datesub('year', date_of_birth, registration_date)
                > {{ var('oldest_plausible_age') }} then 'invalid'
            else 'recorded'
        end as date_of_birth_status,
        case
            when date_of_birth_text is null or lower(date_of_birth_text) = 'declined' then null
            when date_of_birth is null then 'not a DD/MM/YYYY date or the word Declined'
            when date_of_birth > extract_date then 'after the extract date'
            when date_of_birth > registration_date then 'after the registration date'
            when
                datesub('year', date_of_birth, registration_date)
                > {{ var('oldest_plausible_age') }}
                then 'gives an age over {{ var("oldest_plausible_age") }}'
        end as date_of_birth_issue,
        datesub('year', date_of_birth, registration_date) as age_at_registration,
        case
            when postcode is null then 'not recorded'
            when regexp_full_match(postcode, '[A-Z][A-Z]?[0-9][A-Z0-9]?[0-9][A-Z][A-Z]')
                then 'recorded'
            else 'invalid'
        end as postcode_status

    from typed

),

final as (

    select
        source_line,
        client_id,
        health_trainer_id,
        registration_date_value,
        registration_date,
        gender_value,
        gender_key,
        date_of_birth_status,
        date_of_birth_issue,
        case
            when date_of_birth_status = 'recorded' then age_at_registration
        end as age_at_registration,
        ethnicity_value,
        ethnicity_key,
        disability_value,
        disability_key,
        postcode_status,
        case
            when postcode_status = 'invalid' then 'not a full UK postcode'
        end as postcode_issue,
        case
            when postcode_status = 'recorded' then left(postcode, length(postcode) - 3)
        end as postcode_district,
        ward_value,
        ward_key,
        deprivation_quintile_value,
        deprivation_quintile_key,
        how_heard_value,
        how_heard_key,
        referral_source_value,
        referral_source_key,
        referral_source_other,
        eligible_value,
        eligible_key,
        initial_assessment_date_value,
        initial_assessment_date,
        primary_health_issue_value,
        primary_health_issue_key,
        bmi_value,
        bmi,
        signposted_to_value,
        signposted_to_key

    from private_values_reduced

)

select * from final
