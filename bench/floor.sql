-- The floor: marts.measure_breakdown for one export, written straight in one DuckDB SQL
-- script. No dbt, no tests, no audit trail, no row triage, no data-quality checks: it trusts
-- the export. It does the same reading and the same arithmetic as the pipeline (label
-- matching as the contract defines it, UK dates, code lists, bands from the seeds, Wilson
-- intervals, benchmarks), so that on a valid export its result equals the pipeline's.
--
-- bench/floor.py fills in the placeholders (paths, and the dbt variables of
-- dbt_project.yml) and runs it in a fresh process:
--   {export}       the export folder          {seeds}       the seeds folder
--   {z}            confidence_z               {bmi_min}, {bmi_max}
--   {oldest_age}   oldest_plausible_age

create or replace macro clean_text(x) as
    nullif(regexp_replace(trim(translate(x, '–—‘’', '--''''')), '\s+', ' ', 'g'), '');
create or replace macro label_key(x) as lower(clean_text(x));
create or replace macro uk_date(x) as
    case
        when regexp_full_match(trim(x), '[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}')
            then try_strptime(trim(x), '%d/%m/%Y')::date
    end;

-- the export and the seeds, as text tables ------------------------------------------------
create or replace table clients as
select * from read_csv('{export}/clients.csv', header = true, all_varchar = true);
create or replace table goals as
select * from read_csv('{export}/goals.csv', header = true, all_varchar = true);
create or replace table wellbeing_scores as
select * from read_csv('{export}/wellbeing_scores.csv', header = true, all_varchar = true);
create or replace table manifest as
select service_code::varchar as service_code, extract_date::date as extract_date
from read_json('{export}/manifest.json');

create or replace table code_lists as
select code_list, label_key(code) as code_key, category
from read_csv('{seeds}/code_lists.csv', header = true, all_varchar = true);
create or replace table measure_categories as
select * from read_csv('{seeds}/measure_categories.csv', header = true);
create or replace table measures as
select * from read_csv('{seeds}/measures.csv', header = true, all_varchar = true);
create or replace table benchmarks as
select measure_id, category, benchmark_name, benchmark_percent::double as benchmark_percent
from read_csv('{seeds}/benchmarks.csv', header = true);
create or replace table instruments as
select * from read_csv('{seeds}/wellbeing_instruments.csv', header = true);
create or replace table target_wards as
select * from read_csv('{seeds}/service_target_wards.csv', header = true, all_varchar = true);

-- Every distinct value of each field the measures read, cleaned, keyed and matched to its
-- code list once: an export holds a few hundred distinct labels (and some thousands of
-- dates of birth) but millions of rows, so the regular expressions of label matching run
-- on the distinct values and the rows join to them on the raw text.
create or replace table field_values as
with
raw_values as (
    select distinct 'gender' as field, gender as raw from clients
    union all select distinct 'ethnicity', ethnicity from clients
    union all select distinct 'disability', disability from clients
    union all select distinct 'how_heard', how_heard from clients
    union all select distinct 'referral_source', referral_source from clients
    union all select distinct 'deprivation_quintile', deprivation_quintile from clients
    union all select distinct 'ward', ward from clients
    union all select distinct 'eligible', eligible from clients
    union all select distinct 'primary_health_issue', primary_health_issue from clients
    union all select distinct 'bmi', bmi from clients
    union all select distinct 'signposted_to', signposted_to from clients
    union all select distinct 'registration_date', registration_date from clients
    union all select distinct 'date_of_birth', date_of_birth from clients
    union all select distinct 'goal', goal from goals
    union all select distinct 'outcome', outcome from goals
    union all select distinct 'instrument', instrument from wellbeing_scores
    union all select distinct 'stage', stage from wellbeing_scores
    union all select distinct 'score', score from wellbeing_scores
)
select
    raw_values.field,
    raw_values.raw,
    clean_text(raw_values.raw) as clean,
    label_key(raw_values.raw) as code_key,
    code_lists.category,
    uk_date(raw_values.raw) as as_date,
    try_cast(trim(raw_values.raw) as double) as as_number
from raw_values
left join code_lists
    on raw_values.field = code_lists.code_list and label_key(raw_values.raw) = code_lists.code_key
where raw_values.raw is not null;

create or replace table measure_breakdown as
with
bands as (
    select
        measure_id,
        category,
        coalesce(band_lower, '-infinity'::double) as lo,
        coalesce(band_upper, 'infinity'::double) as hi
    from measure_categories
    where band_lower is not null or band_upper is not null
),

client_values as (
    select
        c.client_id,
        registered.as_date as registration_date,
        born.clean as dob_text,
        born.as_date as dob,
        gender.code_key as gender_key,
        gender.category as gender,
        ethnicity.code_key as ethnicity_key,
        ethnicity.category as ethnicity,
        disability.code_key as disability_key,
        disability.category as disability,
        how_heard.code_key as how_heard_key,
        how_heard.category as how_heard,
        referral.code_key as referral_source_key,
        referral.category as referral_source,
        quintile.code_key as quintile_key,
        quintile.category as quintile,
        nullif(upper(regexp_replace(c.postcode, '\s', '', 'g')), '') as postcode,
        ward.code_key as ward_key,
        ward.clean as ward_name,
        eligible.code_key as eligible_key,
        eligible.category as eligibility,
        issue.code_key as issue_key,
        issue.category as primary_health_issue,
        bmi.clean as bmi_text,
        bmi.as_number as bmi,
        signposted.code_key as signposted_key,
        signposted.category as signposted_to
    from clients as c
    left join field_values as registered
        on registered.field = 'registration_date' and registered.raw = c.registration_date
    left join field_values as born
        on born.field = 'date_of_birth' and born.raw = c.date_of_birth
    left join field_values as gender on gender.field = 'gender' and gender.raw = c.gender
    left join field_values as ethnicity
        on ethnicity.field = 'ethnicity' and ethnicity.raw = c.ethnicity
    left join field_values as disability
        on disability.field = 'disability' and disability.raw = c.disability
    left join field_values as how_heard
        on how_heard.field = 'how_heard' and how_heard.raw = c.how_heard
    left join field_values as referral
        on referral.field = 'referral_source' and referral.raw = c.referral_source
    left join field_values as quintile
        on quintile.field = 'deprivation_quintile' and quintile.raw = c.deprivation_quintile
    left join field_values as ward on ward.field = 'ward' and ward.raw = c.ward
    left join field_values as eligible
        on eligible.field = 'eligible' and eligible.raw = c.eligible
    left join field_values as issue
        on issue.field = 'primary_health_issue' and issue.raw = c.primary_health_issue
    left join field_values as bmi on bmi.field = 'bmi' and bmi.raw = c.bmi
    left join field_values as signposted
        on signposted.field = 'signposted_to' and signposted.raw = c.signposted_to
),

goal_values as (
    select
        g.goal_id,
        g.client_id,
        goal.category as goal,
        outcome.code_key as outcome_key,
        outcome.category as outcome
    from goals as g
    left join field_values as goal on goal.field = 'goal' and goal.raw = g.goal
    left join field_values as outcome on outcome.field = 'outcome' and outcome.raw = g.outcome
),

goal_counts as (
    select client_id, count(*) as goals_set from goal_values group by client_id
),

ward_names as (
    -- a ward is shown by its most frequent spelling, or as the service's target list spells it
    select
        spellings.ward_key,
        coalesce(
            any_value(target_wards.ward),
            first(spellings.ward_name order by spellings.clients desc, spellings.ward_name)
        ) as ward
    from (
        select ward_key, ward_name, count(*) as clients
        from client_values
        where ward_key is not null
        group by ward_key, ward_name
    ) as spellings
    cross join manifest
    left join target_wards
        on
            target_wards.service_code = manifest.service_code
            and label_key(target_wards.ward) = spellings.ward_key
    group by spellings.ward_key
),

client_categories as (
    select
        coalesce(v.gender, if(v.gender_key is null, 'Not recorded', 'Invalid')) as gender,
        case
            when v.dob_text is null then 'Not recorded'
            when lower(v.dob_text) = 'declined' then 'Declined'
            when
                v.dob is null
                or v.dob > m.extract_date
                or v.dob > v.registration_date
                or datesub('year', v.dob, v.registration_date) > {oldest_age}
                then 'Invalid'
            else age.category
        end as age_band,
        coalesce(v.ethnicity, if(v.ethnicity_key is null, 'Not recorded', 'Invalid'))
            as ethnicity,
        coalesce(v.disability, if(v.disability_key is null, 'Not recorded', 'Invalid'))
            as disability,
        coalesce(v.how_heard, if(v.how_heard_key is null, 'Not recorded', 'Invalid'))
            as how_heard,
        coalesce(
            v.referral_source, if(v.referral_source_key is null, 'Not recorded', 'Invalid')
        ) as referral_source,
        coalesce(v.quintile, if(v.quintile_key is null, 'Unknown / not recognised', 'Invalid'))
            as deprivation_quintile,
        case
            when v.postcode is null then 'Not recorded'
            when regexp_full_match(v.postcode, '[A-Z][A-Z]?[0-9][A-Z0-9]?[0-9][A-Z][A-Z]')
                then left(v.postcode, length(v.postcode) - 3)
            else 'Invalid'
        end as postcode_district,
        coalesce(w.ward, 'Not recorded') as ward,
        strftime(date_trunc('month', v.registration_date), '%B %Y') as month_first_seen,
        coalesce(v.eligibility, if(v.eligible_key is null, 'Not yet assessed', 'Invalid'))
            as eligibility,
        case
            when v.eligibility = 'Eligible'
                then
                    coalesce(
                        v.primary_health_issue, if(v.issue_key is null, 'Not recorded', 'Invalid')
                    )
        end as primary_health_issue,
        case
            when v.eligibility is distinct from 'Eligible' then null
            when v.bmi_text is null then 'Not recorded'
            when v.bmi is null or v.bmi < {bmi_min} or v.bmi > {bmi_max} then 'Invalid'
            else bmi.category
        end as bmi_band,
        goal_count.category as php_goal_count,
        coalesce(v.signposted_to, if(v.signposted_key is null, 'Not yet done', 'Invalid'))
            as signposting
    from client_values as v
    cross join manifest as m
    left join goal_counts as gc on v.client_id = gc.client_id
    left join ward_names as w on v.ward_key = w.ward_key
    left join bands as age
        on
            age.measure_id = 'age_band'
            and datesub('year', v.dob, v.registration_date) >= age.lo
            and datesub('year', v.dob, v.registration_date) < age.hi
    left join bands as bmi
        on bmi.measure_id = 'bmi_band' and v.bmi >= bmi.lo and v.bmi < bmi.hi
    left join bands as goal_count
        on
            goal_count.measure_id = 'php_goal_count'
            and coalesce(gc.goals_set, 0) >= goal_count.lo
            and coalesce(gc.goals_set, 0) < goal_count.hi
),

scores as (
    select
        s.client_id,
        instrument.category as instrument,
        stage.category as stage,
        case
            when score.as_number between i.raw_min and i.raw_max
                then score.as_number * i.percent_per_raw_point
        end as score_percent
    from wellbeing_scores as s
    inner join field_values as instrument
        on instrument.field = 'instrument' and instrument.raw = s.instrument
    inner join field_values as stage on stage.field = 'stage' and stage.raw = s.stage
    inner join instruments as i on instrument.category = i.instrument
    left join field_values as score on score.field = 'score' and score.raw = s.score
),

changes as (
    select
        i.measure_id,
        round((p.follow_up - p.baseline) / i.change_step) * i.change_step as change
    from (
        select
            client_id,
            instrument,
            max(score_percent) filter (where stage = 'baseline') as baseline,
            max(score_percent) filter (where stage = 'follow_up') as follow_up,
            count(*) filter (where stage = 'baseline') as baselines,
            count(*) filter (where stage = 'follow_up') as follow_ups
        from scores
        group by client_id, instrument
    ) as p
    inner join instruments as i on p.instrument = i.instrument
    where p.baselines > 0 and p.follow_ups > 0
),

counts as (
    -- one scan, one count per measure (grouping sets), then one row per category
    select measure_id, category, n from (unpivot (
        select *, count(*) as n
        from client_categories
        group by grouping sets (
            (gender), (age_band), (ethnicity), (disability), (how_heard), (referral_source),
            (deprivation_quintile), (postcode_district), (ward), (month_first_seen),
            (eligibility), (primary_health_issue), (bmi_band), (php_goal_count), (signposting)
        )
    )
    on columns(* exclude (n))
    into name measure_id value category)
    union all
    select measure_id, category, n from (unpivot (
        select *, count(*) as n
        from (
            select
                coalesce(goal, 'Invalid') as goal,
                coalesce(split_part(goal, ' - ', 1), 'Invalid') as goal_type,
                coalesce(outcome, if(outcome_key is null, 'No outcome yet', 'Invalid'))
                    as goal_outcome
            from goal_values
        )
        group by grouping sets ((goal), (goal_type), (goal_outcome))
    )
    on columns(* exclude (n))
    into name measure_id value category)
    union all
    select changes.measure_id, coalesce(bands.category, 'Invalid') as category, count(*) as n
    from changes
    left join bands
        on
            changes.measure_id = bands.measure_id
            and changes.change >= bands.lo
            and changes.change < bands.hi
    group by all
),

frame as (
    select measure_id, category, category_order, excluded_from_denominator
    from measure_categories
    union all
    -- postcode districts and wards found in the export, in sort order
    select
        counts.measure_id,
        counts.category,
        row_number() over (partition by counts.measure_id order by counts.category),
        false
    from counts
    anti join measure_categories using (measure_id, category)
    where counts.measure_id in ('postcode_district', 'ward')
    union all
    -- every month from the first registration to the extract date
    select
        'month_first_seen',
        strftime(month_start, '%B %Y'),
        row_number() over (order by month_start),
        false
    from (
        select
            unnest(generate_series(
                min(date_trunc('month', client_values.registration_date)),
                any_value(date_trunc('month', manifest.extract_date)),
                interval 1 month
            )) as month_start
        from client_values cross join manifest
    )
),

counted as (
    select
        frame.*,
        coalesce(counts.n, 0) as n,
        case
            when not frame.excluded_from_denominator
                then sum(coalesce(counts.n, 0)) filter (where not frame.excluded_from_denominator)
                    over (partition by frame.measure_id)
        end as denominator
    from frame
    left join counts using (measure_id, category)
),

intervals as (
    select
        counted.*,
        case when denominator > 0 then 100.0 * n / denominator end as percent,
        case when denominator > 0 then least(100.0, greatest(0.0, 100.0 * (
            2 * n + {z} ^ 2 - {z} * sqrt({z} ^ 2 + 4 * n * (1 - n::double / denominator))
        ) / (2 * (denominator + {z} ^ 2)))) end as ci_lower,
        case when denominator > 0 then least(100.0, greatest(0.0, 100.0 * (
            2 * n + {z} ^ 2 + {z} * sqrt({z} ^ 2 + 4 * n * (1 - n::double / denominator))
        ) / (2 * (denominator + {z} ^ 2)))) end as ci_upper
    from counted
)

select
    manifest.service_code,
    manifest.extract_date,
    intervals.measure_id,
    intervals.category,
    intervals.category_order::integer as category_order,
    intervals.n::integer as n,
    intervals.denominator::integer as denominator,
    intervals.percent,
    intervals.ci_lower,
    intervals.ci_upper,
    benchmarks.benchmark_name,
    benchmarks.benchmark_percent,
    case
        when benchmarks.benchmark_percent is null or intervals.ci_lower is null then null
        when intervals.ci_lower > benchmarks.benchmark_percent then 'higher'
        when intervals.ci_upper < benchmarks.benchmark_percent then 'lower'
        else 'similar'
    end as comparison
from intervals
cross join manifest
inner join measures using (measure_id)
left join benchmarks
    on
        intervals.measure_id = benchmarks.measure_id
        and intervals.category = benchmarks.category
        and measures.benchmark_name = benchmarks.benchmark_name
order by measures.measure_order::integer, intervals.category_order;
