{#- Every controlled count of the published tables beside the true count it came from, one
    row per cell. Ephemeral: it is never written to the warehouse (it holds the true
    counts); suppression_log and the tests in tests/dbt/assert_published_*.sql read it. -#}

{{ config(materialized='ephemeral') }}

{%- set summary_counts = disclosure_service_summary_counts() %}
{%- set wellbeing_counts = disclosure_wellbeing_outcome_counts() %}
{%- set monthly_counts = disclosure_monthly_activity_counts() %}

with

marts_breakdown as (

    select * from {{ ref('measure_breakdown') }}
    where {{ in_loaded_partition() }}

),

published_breakdown as (

    select * from {{ ref('published_measure_breakdown') }}
    where {{ in_loaded_partition() }}

),

marts_summary as (

    select * from {{ ref('service_summary') }}
    where {{ in_loaded_partition() }}

),

published_summary as (

    select * from {{ ref('published_service_summary') }}
    where {{ in_loaded_partition() }}

),

marts_capture as (

    select * from {{ ref('data_capture') }}
    where {{ in_loaded_partition() }}

),

published_capture as (

    select * from {{ ref('published_data_capture') }}
    where {{ in_loaded_partition() }}

),

marts_london as (

    select * from {{ ref('london_comparison') }}
    where {{ in_loaded_partition() }}

),

published_london as (

    select * from {{ ref('published_london_comparison') }}
    where {{ in_loaded_partition() }}

),

marts_wellbeing as (

    select * from {{ ref('wellbeing_outcomes') }}
    where {{ in_loaded_partition() }}

),

published_wellbeing as (

    select * from {{ ref('published_wellbeing_outcomes') }}
    where {{ in_loaded_partition() }}

),

marts_monthly as (

    select * from {{ ref('monthly_activity') }}
    where {{ in_loaded_partition() }}

),

published_monthly as (

    select * from {{ ref('published_monthly_activity') }}
    where {{ in_loaded_partition() }}

),

marts_inequalities as (

    select * from {{ ref('inequalities') }}
    where {{ in_loaded_partition() }}

),

published_inequalities as (

    select * from {{ ref('published_inequalities') }}
    where {{ in_loaded_partition() }}

),

breakdown_joined as (

    select
        marts_breakdown.service_code,
        marts_breakdown.extract_date,
        marts_breakdown.measure_id || ' / ' || marts_breakdown.category as row_key,
        marts_breakdown.n as true_n,
        marts_breakdown.denominator as true_denominator,
        published_breakdown.n as published_n,
        published_breakdown.n_display,
        published_breakdown.denominator as published_denominator,
        published_breakdown.denominator_display
    from marts_breakdown
    left join published_breakdown
        on
            marts_breakdown.service_code = published_breakdown.service_code
            and marts_breakdown.extract_date = published_breakdown.extract_date
            and marts_breakdown.measure_id = published_breakdown.measure_id
            and marts_breakdown.category = published_breakdown.category

),

breakdown_cells as (

    select
        'measure_breakdown' as table_name,
        service_code,
        extract_date,
        row_key,
        'n' as column_name,
        true_n::bigint as true_count,
        published_n::double as published_count,
        n_display as published_display
    from breakdown_joined
    union all
    -- excluded categories have no denominator: not a count, not a cell
    select
        'measure_breakdown' as table_name,
        service_code,
        extract_date,
        row_key,
        'denominator' as column_name,
        true_denominator::bigint as true_count,
        published_denominator::double as published_count,
        denominator_display as published_display
    from breakdown_joined
    where true_denominator is not null

),

summary_cells as (

    {% for column in summary_counts %}
        select
            'service_summary' as table_name,
            marts_summary.service_code,
            marts_summary.extract_date,
            marts_summary.service_code as row_key,
            '{{ column }}' as column_name,
            marts_summary.{{ column }}::bigint as true_count,
            published_summary.{{ column }}::double as published_count,
            coalesce(published_summary.{{ column }}::varchar, '*') as published_display
        from marts_summary
        left join published_summary
            on
                marts_summary.service_code = published_summary.service_code
                and marts_summary.extract_date = published_summary.extract_date
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

capture_cells as (

    {% for column in ['recorded', 'total'] %}
        select
            'data_capture' as table_name,
            marts_capture.service_code,
            marts_capture.extract_date,
            marts_capture.field as row_key,
            '{{ column }}' as column_name,
            marts_capture.{{ column }}::bigint as true_count,
            published_capture.{{ column }}::double as published_count,
            coalesce(published_capture.{{ column }}::varchar, '*') as published_display
        from marts_capture
        left join published_capture
            on
                marts_capture.service_code = published_capture.service_code
                and marts_capture.extract_date = published_capture.extract_date
                and marts_capture.field = published_capture.field
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

london_cells as (

    select
        'london_comparison' as table_name,
        marts_london.service_code,
        marts_london.extract_date,
        marts_london.figure_id as row_key,
        'service_value' as column_name,
        marts_london.service_value::bigint as true_count,
        published_london.service_value as published_count,
        coalesce(published_london.service_value::bigint::varchar, '*') as published_display
    from marts_london
    left join published_london
        on
            marts_london.service_code = published_london.service_code
            and marts_london.extract_date = published_london.extract_date
            and marts_london.figure_id = published_london.figure_id
    where marts_london.figure_id in ('total_clients', 'total_phps')

),

wellbeing_cells as (

    {% for column in wellbeing_counts %}
        select
            'wellbeing_outcomes' as table_name,
            marts_wellbeing.service_code,
            marts_wellbeing.extract_date,
            marts_wellbeing.instrument as row_key,
            '{{ column }}' as column_name,
            marts_wellbeing.{{ column }}::bigint as true_count,
            published_wellbeing.{{ column }}::double as published_count,
            coalesce(published_wellbeing.{{ column }}::varchar, '*') as published_display
        from marts_wellbeing
        left join published_wellbeing
            on
                marts_wellbeing.service_code = published_wellbeing.service_code
                and marts_wellbeing.extract_date = published_wellbeing.extract_date
                and marts_wellbeing.instrument = published_wellbeing.instrument
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

monthly_cells as (

    {% for column in monthly_counts %}
        select
            'monthly_activity' as table_name,
            marts_monthly.service_code,
            marts_monthly.extract_date,
            marts_monthly.month::varchar as row_key,
            '{{ column }}' as column_name,
            marts_monthly.{{ column }}::bigint as true_count,
            published_monthly.{{ column }}::double as published_count,
            coalesce(published_monthly.{{ column }}::varchar, '*') as published_display
        from marts_monthly
        left join published_monthly
            on
                marts_monthly.service_code = published_monthly.service_code
                and marts_monthly.extract_date = published_monthly.extract_date
                and marts_monthly.month = published_monthly.month
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

inequalities_joined as (

    select
        marts_inequalities.service_code,
        marts_inequalities.extract_date,
        marts_inequalities.indicator_id || ' / ' || marts_inequalities.dimension || ' / '
        || marts_inequalities.group_name as row_key,
        marts_inequalities.n as true_n,
        marts_inequalities.denominator as true_denominator,
        published_inequalities.n as published_n,
        published_inequalities.denominator as published_denominator
    from marts_inequalities
    left join published_inequalities
        on
            marts_inequalities.service_code = published_inequalities.service_code
            and marts_inequalities.extract_date = published_inequalities.extract_date
            and marts_inequalities.indicator_id = published_inequalities.indicator_id
            and marts_inequalities.dimension = published_inequalities.dimension
            and marts_inequalities.group_name = published_inequalities.group_name

),

inequality_cells as (

    select
        'inequalities' as table_name,
        service_code,
        extract_date,
        row_key,
        'n' as column_name,
        true_n::bigint as true_count,
        published_n::double as published_count,
        coalesce(published_n::varchar, '*') as published_display
    from inequalities_joined
    union all
    -- reach's groups left out of its denominator have none: not a count, not a cell
    select
        'inequalities' as table_name,
        service_code,
        extract_date,
        row_key,
        'denominator' as column_name,
        true_denominator::bigint as true_count,
        published_denominator::double as published_count,
        coalesce(published_denominator::varchar, '*') as published_display
    from inequalities_joined
    where true_denominator is not null

),

all_cells as (

    select * from breakdown_cells
    union all
    select * from summary_cells
    union all
    select * from capture_cells
    union all
    select * from london_cells
    union all
    select * from wellbeing_cells
    union all
    select * from monthly_cells
    union all
    select * from inequality_cells

),

complementary as (

    select * from {{ ref('published_complementary_suppressions') }}
    where {{ in_loaded_partition() }}

),

final as (

    select
        all_cells.*,
        complementary.row_key is not null as is_complementary
    from all_cells
    left join complementary
        on
            all_cells.table_name = complementary.table_name
            and all_cells.service_code = complementary.service_code
            and all_cells.extract_date = complementary.extract_date
            and all_cells.row_key = complementary.row_key
            and all_cells.column_name = complementary.column_name

)

select * from final
