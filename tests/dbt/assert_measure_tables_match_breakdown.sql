-- Each per-measure mart is exactly its measure's rows of measure_breakdown: rows in one
-- and not the other are returned.
{% set measure_tables = [
    'gender', 'age_band', 'ethnicity', 'disability', 'how_heard', 'referral_source',
    'deprivation_quintile', 'postcode_district', 'ward', 'month_first_seen', 'eligibility',
    'primary_health_issue', 'bmi_band', 'php_goal_count', 'goal_type', 'goal',
    'goal_outcome', 'self_efficacy_change', 'general_health_change', 'who5_change',
    'signposting',
] %}

with

breakdown as (

    select * from {{ ref('measure_breakdown') }}

),

measure_tables as (

    {% for measure_table in measure_tables %}
        select
            service_code,
            extract_date,
            measure_id,
            category,
            category_order,
            n,
            denominator,
            percent,
            ci_lower,
            ci_upper,
            benchmark_name,
            benchmark_percent,
            comparison
        from {{ ref(measure_table) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

missing as (

    select * from breakdown
    except
    select * from measure_tables

),

extra as (

    select * from measure_tables
    except
    select * from breakdown

),

final as (

    select
        'missing from its measure table' as problem,
        *
    from missing
    union all
    select
        'not in measure_breakdown' as problem,
        *
    from extra

)

select * from final
