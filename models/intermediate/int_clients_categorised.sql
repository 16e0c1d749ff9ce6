{#- Puts every kept client into its category of each client measure: one column per
    measure, named as the measure. Banded categories (age, BMI, goal count) take their
    bounds from the measure_categories seed: lower bound included, upper bound not.
    primary_health_issue and bmi_band are null for clients who are not eligible (outside
    those measures' population). int_measure_members_categorised unpivots the columns. -#}

with

clients as (

    select * from {{ ref('int_clients_validated') }}

),

goals as (

    select * from {{ ref('int_goals_validated') }}

),

wards as (

    select * from {{ ref('int_wards_named') }}

),

bands as (

    {{ measure_bands() }}

),

goal_counts as (

    -- from the goals alone: clients are read once (DuckDB would write down a CTE read
    -- twice, every client with its values), and clients without goals count 0 below
    select
        client_id,
        count(goal_id) as goals_set
    from goals
    group by client_id

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
        clients.ward_issue,
        clients.registration_month,
        clients.eligibility,
        clients.is_eligible,
        clients.primary_health_issue,
        clients.bmi,
        clients.bmi_issue,
        coalesce(goal_counts.goals_set, 0) as goals_set,
        clients.signposted_to
    from clients
    left join goal_counts on clients.client_id = goal_counts.client_id
    left join wards on clients.ward_key = wards.ward_key

),

final as (

    select
        client_values.service_code,
        client_values.extract_date,
        client_values.client_id,
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
        case
            when client_values.ward_issue is not null then 'Invalid'
            else coalesce(client_values.ward, 'Not recorded')
        end as ward,
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

)

select * from final
