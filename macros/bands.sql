{#- The banded categories of the measure_categories seed (age, BMI, goal count, score
    changes), an open end as minus or plus infinity: a value is in a band when
    band_lower <= value < band_upper. The body of a CTE, for the models that band values
    and the test that no two bands of a measure overlap. -#}
{% macro measure_bands() -%}
    select
        measure_id,
        category,
        coalesce(band_lower, '-infinity'::double) as band_lower,
        coalesce(band_upper, 'infinity'::double) as band_upper
    from {{ ref('measure_categories') }}
    where band_lower is not null or band_upper is not null
{%- endmacro %}
