{#- The benchmarks of the areas each service belongs to (seeds/benchmark_areas.csv: an
    area with no service_code, such as England, applies to every service): one row per
    service of `manifest` and benchmark row. Arguments are the CTEs (or relations) holding
    the benchmarks, the benchmark areas and the manifests. -#}
{% macro service_benchmarks(benchmarks, benchmark_areas, manifest) -%}
    select
        {{ manifest }}.service_code,
        {{ benchmarks }}.*
    from {{ benchmarks }}
    inner join {{ benchmark_areas }} on {{ benchmarks }}.area = {{ benchmark_areas }}.area
    inner join {{ manifest }}
        on coalesce({{ benchmark_areas }}.service_code = {{ manifest }}.service_code, true)
{%- endmacro %}
