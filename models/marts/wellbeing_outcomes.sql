{#- Wellbeing outcomes by instrument: how many clients had a baseline score, how many of
    them were followed up (a client with a baseline and no follow-up is counted here, not
    lost), the share who improved with its Wilson interval, and the mean change with its
    t interval, on the 0-100 scale (WHO-5 raw x 4). Only usable scores count. -#}

with

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

instruments as (

    select * from {{ ref('wellbeing_instruments') }}

),

scores as (

    select * from {{ ref('int_wellbeing_scores_validated') }}

),

changes as (

    select * from {{ ref('int_wellbeing_changes_computed') }}

),

t_quantiles as (

    select * from {{ ref('int_t_quantiles') }}

),

confidence as (

    {{ confidence_z_by_level() }}

),

clients_scored as (

    -- one row per client and instrument with a usable score at either stage
    select
        service_code,
        extract_date,
        instrument,
        client_id,
        count(*) filter (where stage = 'baseline') > 0 as has_baseline,
        count(*) filter (where stage = 'follow_up') > 0 as has_follow_up
    from scores
    where score_percent is not null
    group by service_code, extract_date, instrument, client_id

),

stage_counts as (

    select
        service_code,
        extract_date,
        instrument,
        count(*) filter (where has_baseline) as clients_with_baseline,
        count(*) filter (where has_follow_up) as clients_with_follow_up
    from clients_scored
    group by service_code, extract_date, instrument

),

change_figures as (

    -- the paired clients: both scores usable, so the change is known
    select
        service_code,
        extract_date,
        instrument,
        count(*) as clients_paired,
        count(*) filter (where change_percent > 0) as improved,
        -- exact sums (decimal), so that the mean and the standard deviation do not depend
        -- on the order DuckDB's threads add the rows in (avg and stddev_samp would)
        sum(change_percent::decimal(18, 6))::double as change_sum,
        sum(change_percent::decimal(18, 6) * change_percent::decimal(18, 6))::double
            as change_square_sum
    from changes
    where change_percent is not null
    group by service_code, extract_date, instrument

),

framed as (

    select
        manifest.service_code,
        manifest.extract_date,
        instruments.instrument,
        coalesce(stage_counts.clients_with_baseline, 0) as clients_with_baseline,
        coalesce(stage_counts.clients_with_follow_up, 0) as clients_with_follow_up,
        coalesce(change_figures.clients_paired, 0) as clients_paired,
        coalesce(change_figures.improved, 0) as improved,
        change_figures.change_sum / change_figures.clients_paired as mean_change,
        case
            when change_figures.clients_paired > 1
                then sqrt(greatest(
                    change_figures.change_square_sum
                    - change_figures.change_sum * change_figures.change_sum
                    / change_figures.clients_paired,
                    0
                ) / (change_figures.clients_paired - 1))
        end as change_sd
    from manifest
    cross join instruments
    left join stage_counts
        on
            manifest.service_code = stage_counts.service_code
            and manifest.extract_date = stage_counts.extract_date
            and instruments.instrument = stage_counts.instrument
    left join change_figures
        on
            manifest.service_code = change_figures.service_code
            and manifest.extract_date = change_figures.extract_date
            and instruments.instrument = change_figures.instrument

),

final as (

    select
        framed.service_code,
        framed.extract_date,
        framed.instrument,
        framed.clients_with_baseline::integer as clients_with_baseline,
        framed.clients_with_follow_up::integer as clients_with_follow_up,
        framed.clients_paired::integer as clients_paired,
        100.0 * framed.clients_paired / nullif(framed.clients_with_baseline, 0)
            as follow_up_percent,
        framed.improved::integer as improved,
        100.0 * framed.improved / nullif(framed.clients_paired, 0) as improved_percent,
        {{ wilson_lower(
            'framed.improved', 'framed.clients_paired', 'confidence.z_95'
        ) }} as improved_ci_lower,
        {{ wilson_upper(
            'framed.improved', 'framed.clients_paired', 'confidence.z_95'
        ) }} as improved_ci_upper,
        framed.mean_change,
        -- a t interval needs two paired clients at least (one degree of freedom)
        framed.mean_change
        - t_quantiles.t_quantile * framed.change_sd / sqrt(framed.clients_paired)
            as mean_change_ci_lower,
        framed.mean_change
        + t_quantiles.t_quantile * framed.change_sd / sqrt(framed.clients_paired)
            as mean_change_ci_upper
    from framed
    cross join confidence
    left join t_quantiles on framed.clients_paired - 1 = t_quantiles.degrees_of_freedom
    order by framed.service_code, framed.extract_date, framed.instrument

)

select * from final
