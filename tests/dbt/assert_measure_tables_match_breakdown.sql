-- Each measure's table in marts (a view generated from the catalogue, or its own model
-- such as ward) is exactly its measure's rows of measure_breakdown: rows in one and not the
-- other are returned. The measures come from the catalogue (macro measure_ids).

with

breakdown as (

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
    from {{ ref('measure_breakdown') }}

),

measure_tables as (

    {% for measure_id in measure_ids() %}
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
        from {{ ref(measure_id) }}
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
