{#- Puts every counted unit (a client, or a goal for goal measures) of every measure's
    population into the measure's category. Banded categories (age, BMI, goal count,
    score changes) take their bounds from the measure_categories seed: lower bound
    included, upper bound not. -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

changes as (

    select * from {{ ref('int_wellbeing_changes_computed') }}

),

wards as (

    select * from {{ ref('int_wards_named') }}

),

bands as (

    select
        measure_id,
        category,
        coalesce(band_lower, '-infinity'::double) as band_lower,
        coalesce(band_upper, 'infinity'::double) as band_upper
    from {{ ref('measure_categories') }}
    where band_lower is not null or band_upper is not null

),

goal_counts as (

    select
        clients.client_id,
        count(goals.goal_id) as goals_set
    from clients
    left join goals on clients.client_id = goals.client_id
    group by clients.client_id

),

client_values as (

    select
        clients.service_code,
        clients.extract_date,
        clients.client_id,
        clients.gender,
        clients.date_of_birth_status,
        clients.age_at_registration,
        clients.ethnicity,
        clients.disability,
        clients.how_heard,
        clients.referral_source,
        clients.deprivation_quintile,
        clients.postcode_status,
        clients.postcode_district,
        wards.ward,
        clients.registration_month,
        clients.eligibility,
        clients.is_eligible,
        clients.primary_health_issue,
        clients.bmi,
        clients.bmi_issue,
        goal_counts.goals_set,
        clients.signposted_to
    from clients
    inner join goal_counts on clients.client_id = goal_counts.client_id
    left join wards on clients.ward_key = wards.ward_key

),

client_categories as (

    select
        client_values.service_code,
        client_values.extract_date,
        client_values.client_id as unit_id,
        coalesce(client_values.gender, 'Not recorded') as gender,
        case client_values.date_of_birth_status
            when 'declined' then 'Declined'
            when 'not recorded' then 'Not recorded'
            when 'invalid' then 'Invalid'
            else age_bands.category
        end as age_band,
        coalesce(client_values.ethnicity, 'Not recorded') as ethnicity,
        coalesce(client_values.disability, 'Not recorded') as disability,
        coalesce(client_values.how_heard, 'Not recorded') as how_heard,
        coalesce(client_values.referral_source, 'Not recorded') as referral_source,
        coalesce(client_values.deprivation_quintile, 'Unknown / not recognised')
            as deprivation_quintile,
        case client_values.postcode_status
            when 'not recorded' then 'Not recorded'
            when 'invalid' then 'Invalid'
            else client_values.postcode_district
        end as postcode_district,
        coalesce(client_values.ward, 'Not recorded') as ward,
        strftime(client_values.registration_month, '%B %Y') as month_first_seen,
        coalesce(client_values.eligibility, 'Not yet assessed') as eligibility,
        case
            when client_values.is_eligible
                then coalesce(client_values.primary_health_issue, 'Not recorded')
        end as primary_health_issue,
        case
            when not client_values.is_eligible then null
            when client_values.bmi_issue is not null then 'Invalid'
            when client_values.bmi is null then 'Not recorded'
            else bmi_bands.category
        end as bmi_band,
        goal_count_bands.category as php_goal_count,
        coalesce(client_values.signposted_to, 'Not yet done') as signposting

    from client_values
    left join bands as age_bands
        on
            age_bands.measure_id = 'age_band'
            and client_values.age_at_registration >= age_bands.band_lower
            and client_values.age_at_registration < age_bands.band_upper
    left join bands as bmi_bands
        on
            bmi_bands.measure_id = 'bmi_band'
            and client_values.bmi >= bmi_bands.band_lower
            and client_values.bmi < bmi_bands.band_upper
    left join bands as goal_count_bands
        on
            goal_count_bands.measure_id = 'php_goal_count'
            and client_values.goals_set >= goal_count_bands.band_lower
            and client_values.goals_set < goal_count_bands.band_upper

),

client_members as (

    -- one row per client and measure; a null category (outside the population) drops out
    unpivot client_categories
    on
    gender,
    age_band,
    ethnicity,
    disability,
    how_heard,
    referral_source,
    deprivation_quintile,
    postcode_district,
    ward,
    month_first_seen,
    eligibility,
    primary_health_issue,
    bmi_band,
    php_goal_count,
    signposting
    into name measure_id value category

),

goal_members as (

    unpivot (
        select
            service_code,
            extract_date,
            goal_id as unit_id,
            goal_type,
            goal,
            coalesce(outcome, 'No outcome yet') as goal_outcome
        from goals
    )
    on goal_type, goal, goal_outcome
    into name measure_id value category

),

change_members as (

    select
        changes.service_code,
        changes.extract_date,
        changes.client_id as unit_id,
        changes.measure_id,
        coalesce(change_bands.category, 'Invalid') as category
    from changes
    left join bands as change_bands
        on
            changes.measure_id = change_bands.measure_id
            and changes.change_percent_rounded >= change_bands.band_lower
            and changes.change_percent_rounded < change_bands.band_upper

),

final as (

    select
        service_code,
        extract_date,
        measure_id,
        unit_id,
        category
    from client_members
    union all
    select
        service_code,
        extract_date,
        measure_id,
        unit_id,
        category
    from goal_members
    union all
    select
        service_code,
        extract_date,
        measure_id,
        unit_id,
        category
    from change_members

)

select * from final
