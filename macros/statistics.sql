{#- Wilson score interval for a proportion, on the percent scale, as Fingertips and
    PHEindicatormethods compute it. z is an expression giving the two-sided z of the
    confidence level: a column of reference.confidence_levels (confidence_z_by_level()),
    never a literal. Null where the count is null or the denominator null or zero; a count
    above its denominator stops the query with an error (a proportion above 100% is a bug
    upstream, and capping it would hide it). -#}

{% macro wilson_bound(numerator, denominator, z, sign) -%}
    case
        when {{ numerator }} > {{ denominator }}
            then error(
                'Wilson interval: count ' || ({{ numerator }})::varchar
                || ' exceeds its denominator ' || ({{ denominator }})::varchar
            )
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
                + ({{ z }}) ^ 2
                {{ sign }} ({{ z }}) * sqrt(
                    ({{ z }}) ^ 2
                    + 4 * {{ numerator }} * (1 - {{ numerator }}::double / {{ denominator }})
                )
            ) / (2 * ({{ denominator }} + ({{ z }}) ^ 2))))
    end
{%- endmacro %}

{% macro wilson_lower(numerator, denominator, z) -%}
    {{ wilson_bound(numerator, denominator, z, '-') }}
{%- endmacro %}

{% macro wilson_upper(numerator, denominator, z) -%}
    {{ wilson_bound(numerator, denominator, z, '+') }}
{%- endmacro %}

{#- One row: the two-sided z of each confidence level the measures use, from the seed
    confidence_levels (scripts/generate_confidence_levels.py): z_95 and z_998. -#}
{% macro confidence_z_by_level() -%}
    select
        max(two_sided_z) filter (where confidence_level_id = 'ci_95') as z_95,
        max(two_sided_z) filter (where confidence_level_id = 'ci_998') as z_998
    from {{ ref('confidence_levels') }}
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

{#- The comparison in Fingertips' words where the category's polarity says which way is
    better ('higher is better' / 'lower is better'): better, worse or similar; where it
    does not ('neither'), the neutral higher, lower or similar. Null stays null. -#}
{% macro comparison_verdict(comparison, polarity) -%}
    case
        when {{ comparison }} is null then null
        when {{ comparison }} = 'similar' then 'similar'
        when {{ polarity }} = 'higher is better'
            then case when {{ comparison }} = 'higher' then 'better' else 'worse' end
        when {{ polarity }} = 'lower is better'
            then case when {{ comparison }} = 'lower' then 'better' else 'worse' end
        else {{ comparison }}
    end
{%- endmacro %}
