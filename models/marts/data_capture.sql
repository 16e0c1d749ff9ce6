{#- Data capture: for every field a health trainer must fill in, the share of its
    population with a recorded, valid value, beside its threshold. 'Declined',
    'Not Stated' and 'Not stated' are answers and count as captured. Fields, populations
    and per-field thresholds come from the data_capture_fields seed; a blank threshold
    takes var('data_capture_default_threshold_percent'). -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

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
        goal_fields.is_captured
    from goal_fields

),

counted as (

    select
        service_code,
        extract_date,
        field,
        count(*) filter (where is_captured) as recorded,
        count(*) as total
    from in_population
    group by service_code, extract_date, field

),

final as (

    select
        manifest.service_code,
        manifest.extract_date,
        fields.field,
        fields.field_order,
        fields.population,
        coalesce(counted.recorded, 0)::integer as recorded,
        coalesce(counted.total, 0)::integer as total,
        100.0 * counted.recorded / nullif(counted.total, 0) as percent,
        coalesce(
            fields.threshold_percent, {{ var('data_capture_default_threshold_percent') }}
        )::double as threshold_percent,
        -- an empty population has nothing to capture
        coalesce(
            100.0 * counted.recorded / nullif(counted.total, 0)
            >= coalesce(
                fields.threshold_percent, {{ var('data_capture_default_threshold_percent') }}
            ),
            true
        ) as meets_threshold
    from fields
    cross join manifest
    left join counted
        on
            fields.field = counted.field
            and manifest.service_code = counted.service_code
    order by fields.field_order

)

select * from final
