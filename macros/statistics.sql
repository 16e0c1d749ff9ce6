{#- Wilson score interval for a proportion, on the percent scale, as Fingertips and
    PHEindicatormethods compute it (z from var confidence_z, 95% by default).
    Null where the count is null or the denominator null or zero. -#}

{% macro wilson_bound(numerator, denominator, sign) -%}
    case
        when {{ numerator }} is null or coalesce({{ denominator }} <= 0, true) then null
        -- exact at the ends: floating point would give 99.99999999999999 for n of n
        {% if sign == '+' -%}
        when {{ numerator }} = {{ denominator }} then 100.0
        {%- else -%}
        when {{ numerator }} = 0 then 0.0
        {%- endif %}
        else
            -- clamped to [0, 100]: at 0 or n the formula is exact only up to rounding
            least(100.0, greatest(0.0, 100.0 * (
                2 * {{ numerator }}
                + {{ var('confidence_z') }} ^ 2
                {{ sign }} {{ var('confidence_z') }} * sqrt(
                    {{ var('confidence_z') }} ^ 2
                    + 4 * {{ numerator }} * (1 - {{ numerator }}::double / {{ denominator }})
                )
            ) / (2 * ({{ denominator }} + {{ var('confidence_z') }} ^ 2))))
    end
{%- endmacro %}

{% macro wilson_lower(numerator, denominator) -%}
    {{ wilson_bound(numerator, denominator, '-') }}
{%- endmacro %}

{% macro wilson_upper(numerator, denominator) -%}
    {{ wilson_bound(numerator, denominator, '+') }}
{%- endmacro %}

{#- higher / lower when the interval lies wholly above / below the benchmark. -#}
{% macro compare_with_benchmark(ci_lower, ci_upper, benchmark_percent) -%}
    case
        when {{ benchmark_percent }} is null or {{ ci_lower }} is null then null
        when {{ ci_lower }} > {{ benchmark_percent }} then 'higher'
        when {{ ci_upper }} < {{ benchmark_percent }} then 'lower'
        else 'similar'
    end
{%- endmacro %}
