{#- Privacy: date_of_birth and postcode are read here and never leave this model. It
    passes on the age in whole years on the registration date and the postcode district
    (outward code), with whether each value was recorded and valid. -#}

with

source as (

    select * from {{ source('dcrs', 'clients') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

typed as (

    select
        source.source_line,
        {{ clean_text('source.client_id') }} as client_id,
        {{ clean_text('source.health_trainer_id') }} as health_trainer_id,
        {{ clean_text('source.registration_date') }} as registration_date_value,
        {{ parse_uk_date('source.registration_date') }} as registration_date,
        {{ clean_text('source.gender') }} as gender_value,
        {{ label_key('source.gender') }} as gender_key,
        {{ clean_text('source.date_of_birth') }} as date_of_birth_text,
        {{ parse_uk_date('source.date_of_birth') }} as date_of_birth,
        {{ clean_text('source.ethnicity') }} as ethnicity_value,
        {{ label_key('source.ethnicity') }} as ethnicity_key,
        {{ clean_text('source.disability') }} as disability_value,
        {{ label_key('source.disability') }} as disability_key,
        nullif(upper(regexp_replace(source.postcode, '\s', '', 'g')), '') as postcode,
        {{ clean_text('source.ward') }} as ward_value,
        {{ label_key('source.ward') }} as ward_key,
        {{ clean_text('source.deprivation_quintile') }} as deprivation_quintile_value,
        {{ label_key('source.deprivation_quintile') }} as deprivation_quintile_key,
        {{ clean_text('source.how_heard') }} as how_heard_value,
        {{ label_key('source.how_heard') }} as how_heard_key,
        {{ clean_text('source.referral_source') }} as referral_source_value,
        {{ label_key('source.referral_source') }} as referral_source_key,
        {{ clean_text('source.referral_source_other') }} as referral_source_other,
        {{ clean_text('source.eligible') }} as eligible_value,
        {{ label_key('source.eligible') }} as eligible_key,
        {{ clean_text('source.initial_assessment_date') }} as initial_assessment_date_value,
        {{ parse_uk_date('source.initial_assessment_date') }} as initial_assessment_date,
        {{ clean_text('source.primary_health_issue') }} as primary_health_issue_value,
        {{ label_key('source.primary_health_issue') }} as primary_health_issue_key,
        {{ clean_text('source.bmi') }} as bmi_value,
        try_cast(trim(source.bmi) as double) as bmi,
        {{ clean_text('source.signposted_to') }} as signposted_to_value,
        {{ label_key('source.signposted_to') }} as signposted_to_key,
        manifest.extract_date

    from source
    cross join manifest

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
