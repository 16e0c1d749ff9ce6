{#- One row per client kept from clients.csv, with every coded value matched to its code
    list, and the ward to the service's ward list (or, for a service without one, checked
    for digits). A recorded value that cannot be used becomes 'Invalid' (or null for dates
    and numbers) and its reason is kept in <field>_issue for audit.load_issues. -#}

with

clients as (

    select * from {{ ref('stg_dcrs__clients') }}

),

rejected_lines as (

    -- the rows triage rejected (few): every other staged row is kept
    select source_line from {{ ref('int_client_rows_triaged') }}
    where rejection_reason is not null

),

trainers as (

    select * from {{ ref('int_health_trainers_validated') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

code_keys as (

    select * from {{ ref('int_code_lists_keyed') }}

),

service_wards as (

    select * from {{ ref('int_service_wards_keyed') }}

),

staged_wards as (

    -- the staged rows again, for their wards: reading the kept rows (or the clients CTE)
    -- twice would make DuckDB write every client down (at 1M clients 3 s became 8-17 s)
    select * from {{ ref('stg_dcrs__clients') }}

),

kept as (

    select clients.*
    from clients
    anti join rejected_lines on clients.source_line = rejected_lines.source_line

),

ward_lists as (

    -- whether the export's service has a ward list
    select
        manifest.service_code,
        count(service_wards.ward_key) > 0 as has_ward_list
    from manifest
    left join service_wards on manifest.service_code = service_wards.service_code
    group by manifest.service_code

),

ward_values as (

    -- wards are checked once per distinct recorded value
    select distinct
        ward_value,
        ward_key
    from staged_wards
    where ward_value is not null

),

wards_checked as (

    select
        ward_values.ward_value,
        {{ ward_issue(
            'ward_values.ward_value',
            'ward_lists.has_ward_list',
            'service_wards.ward_key is not null'
        ) }} as ward_issue,
        -- a postcode or an address typed into the field never leaves staging
        {{ ward_holds_digits('ward_values.ward_value') }} as is_ward_withheld
    from ward_values
    cross join ward_lists
    left join service_wards
        on
            ward_lists.service_code = service_wards.service_code
            and ward_values.ward_key = service_wards.ward_key

),

coded as (

    select
        kept.*,
        manifest.service_code,
        manifest.extract_date,
        trainers.health_trainer_id as known_health_trainer_id,
        wards_checked.ward_issue,
        wards_checked.is_ward_withheld,
        gender_codes.category as gender_category,
        ethnicity_codes.category as ethnicity_category,
        disability_codes.category as disability_category,
        quintile_codes.category as deprivation_quintile_category,
        how_heard_codes.category as how_heard_category,
        referral_codes.category as referral_source_category,
        eligible_codes.category as eligible_category,
        issue_codes.category as primary_health_issue_category,
        signposted_codes.category as signposted_to_category

    from kept
    cross join manifest
    left join trainers on kept.health_trainer_id = trainers.health_trainer_id
    left join wards_checked on kept.ward_value = wards_checked.ward_value
    {{ code_list_join('gender_codes', 'gender', 'kept.gender_key') }}
    {{ code_list_join('ethnicity_codes', 'ethnicity', 'kept.ethnicity_key') }}
    {{ code_list_join('disability_codes', 'disability', 'kept.disability_key') }}
    {{ code_list_join('quintile_codes', 'deprivation_quintile', 'kept.deprivation_quintile_key') }}
    {{ code_list_join('how_heard_codes', 'how_heard', 'kept.how_heard_key') }}
    {{ code_list_join('referral_codes', 'referral_source', 'kept.referral_source_key') }}
    {{ code_list_join('eligible_codes', 'eligible', 'kept.eligible_key') }}
    {{ code_list_join('issue_codes', 'primary_health_issue', 'kept.primary_health_issue_key') }}
    {{ code_list_join('signposted_codes', 'signposted_to', 'kept.signposted_to_key') }}

),

checked as (

    select
        *,
        case
            when health_trainer_id is not null and known_health_trainer_id is null
                then 'not a health_trainer_id of health_trainers.csv'
        end as health_trainer_id_issue,
        {{ code_list_issue('gender_key', 'gender_category', 'gender') }} as gender_issue,
        {{ code_list_issue('ethnicity_key', 'ethnicity_category', 'ethnicity') }}
            as ethnicity_issue,
        {{ code_list_issue('disability_key', 'disability_category', 'disability') }}
            as disability_issue,
        case
            when deprivation_quintile_key is not null and deprivation_quintile_category is null
                then 'not a quintile from 1 to 5'
        end as deprivation_quintile_issue,
        {{ code_list_issue('how_heard_key', 'how_heard_category', 'how_heard') }}
            as how_heard_issue,
        {{ code_list_issue('referral_source_key', 'referral_source_category', 'referral_source') }}
            as referral_source_issue,
        {{ code_list_issue('eligible_key', 'eligible_category', 'eligible') }} as eligible_issue,
        {{ date_issue('initial_assessment_date_value', 'initial_assessment_date') }}
            as initial_assessment_date_issue,
        {{ code_list_issue(
            'primary_health_issue_key', 'primary_health_issue_category', 'primary_health_issue'
        ) }} as primary_health_issue_issue,
        {{ number_issue(
            'bmi_value', 'bmi', var('bmi_min'), var('bmi_max'),
            var('bmi_min') ~ ' to ' ~ var('bmi_max')
        ) }} as bmi_issue,
        {{ code_list_issue('signposted_to_key', 'signposted_to_category', 'signposted_to') }}
            as signposted_to_issue

    from coded

),

final as (

    -- a recorded value: its category; a value that failed validation: 'Invalid';
    -- blank: null (not recorded)
    select
        service_code,
        extract_date,
        client_id,
        source_line,
        registration_date,
        date_trunc('month', registration_date)::date as registration_month,
        health_trainer_id,
        {{ coded_value('gender_category', 'gender_issue') }} as gender,
        date_of_birth_status,
        age_at_registration,
        {{ coded_value('ethnicity_category', 'ethnicity_issue') }} as ethnicity,
        {{ coded_value('disability_category', 'disability_issue') }} as disability,
        postcode_status,
        postcode_district,
        {{ coded_value('ward_value', 'ward_issue') }} as ward_name,
        {{ usable('ward_key', 'ward_issue') }} as ward_key,
        {{ coded_value('deprivation_quintile_category', 'deprivation_quintile_issue') }}
            as deprivation_quintile,
        {{ coded_value('how_heard_category', 'how_heard_issue') }} as how_heard,
        {{ coded_value('referral_source_category', 'referral_source_issue') }} as referral_source,
        referral_source_other,
        {{ coded_value('eligible_category', 'eligible_issue') }} as eligibility,
        coalesce(eligible_category = 'Eligible', false) as is_eligible,
        {{ usable('initial_assessment_date', 'initial_assessment_date_issue') }}
            as initial_assessment_date,
        {{ coded_value('primary_health_issue_category', 'primary_health_issue_issue') }}
            as primary_health_issue,
        {{ usable('bmi', 'bmi_issue') }} as bmi,
        {{ coded_value('signposted_to_category', 'signposted_to_issue') }} as signposted_to,
        -- what was recorded, and why it could not be used (null: usable or blank)
        health_trainer_id_issue,
        gender_value,
        gender_issue,
        date_of_birth_issue,
        ethnicity_value,
        ethnicity_issue,
        disability_value,
        disability_issue,
        postcode_issue,
        case
            when is_ward_withheld then '(withheld: holds digits, may be a postcode)'
            else ward_value
        end as ward_value,
        ward_issue,
        deprivation_quintile_value,
        deprivation_quintile_issue,
        how_heard_value,
        how_heard_issue,
        referral_source_value,
        referral_source_issue,
        eligible_value,
        eligible_issue,
        initial_assessment_date_value,
        initial_assessment_date_issue,
        primary_health_issue_value,
        primary_health_issue_issue,
        bmi_value,
        bmi_issue,
        signposted_to_value,
        signposted_to_issue

    from checked

)

select * from final
