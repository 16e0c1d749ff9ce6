{#- Data capture, one row per unit of each field's population: for every field a health
    trainer must fill in (the data_capture_fields seed), every client (or goal) the field
    applies to, and whether it holds a recorded, valid value. 'Declined', 'Not Stated' and
    'Not stated' are answers and count as captured. marts.data_capture aggregates it, and
    the Great Expectations data-capture suite (src/dcrs/quality.py) checks it. -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

fields as (

    select * from {{ ref('data_capture_fields') }}

),

client_capture as (

    select
        service_code,
        extract_date,
        client_id as unit_id,
        case
            when is_eligible then 'eligible clients'
        end as eligible_population,
        case
            when referral_source = 'Other' then 'clients referred by Other'
        end as referred_other_population,
        health_trainer_id is not null
        and health_trainer_id_issue is null as health_trainer_id,
        coalesce(gender <> 'Invalid', false) as gender,
        date_of_birth_status in ('recorded', 'declined') as date_of_birth,
        coalesce(ethnicity <> 'Invalid', false) as ethnicity,
        coalesce(disability <> 'Invalid', false) as disability,
        postcode_status = 'recorded' as postcode,
        ward_key is not null as ward,
        coalesce(deprivation_quintile <> 'Invalid', false) as deprivation_quintile,
        coalesce(how_heard <> 'Invalid', false) as how_heard,
        coalesce(referral_source <> 'Invalid', false) as referral_source,
        coalesce(eligibility <> 'Invalid', false) as eligible,
        coalesce(signposted_to <> 'Invalid', false) as signposted_to,
        referral_source_other is not null as referral_source_other,
        initial_assessment_date is not null as initial_assessment_date,
        coalesce(primary_health_issue <> 'Invalid', false) as primary_health_issue,
        bmi is not null as bmi
    from clients

),

client_fields as (

    unpivot client_capture
    on columns(* exclude (
        service_code, extract_date, unit_id, eligible_population, referred_other_population
    ))
    into name field value is_captured

),

goal_fields as (

    select
        service_code,
        extract_date,
        goal_id as unit_id,
        'goal_set_date' as field,
        goal_set_date is not null as is_captured
    from goals

),

in_population as (

    select
        client_fields.service_code,
        client_fields.extract_date,
        client_fields.field,
        fields.population,
        client_fields.unit_id,
        client_fields.is_captured
    from client_fields
    inner join fields
        on
            client_fields.field = fields.field
            and fields.population in (
                'all clients',
                client_fields.eligible_population,
                client_fields.referred_other_population
            )

    union all

    select
        goal_fields.service_code,
        goal_fields.extract_date,
        goal_fields.field,
        fields.population,
        goal_fields.unit_id,
        goal_fields.is_captured
    from goal_fields
    inner join fields on goal_fields.field = fields.field

),

final as (

    select
        service_code,
        extract_date,
        field,
        population,
        unit_id,
        is_captured
    from in_population

)

select * from final
