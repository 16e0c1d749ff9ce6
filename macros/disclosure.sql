{#- Disclosure control for outputs published outside the service (measures.md, "Disclosure
    control for published outputs"; the NHS Digital rule for sub-national counts):

      0 stays 0;
      1 to var('disclosure_suppress_max') is suppressed: null, shown as '*';
      every other count is rounded to the nearest var('disclosure_rounding_base'),
      halves up (a tie needs an even base: with base 10, 15 becomes 20).

    Threshold and base are dbt vars (dbt_project.yml), never literals. Every macro checks
    them first: a base below 1, a negative threshold, or a pair under which a count just
    above the threshold would round to 0 (and so look like a true 0) stops the build. -#}

{% macro disclosure_settings() -%}
    {%- set suppress_max = var('disclosure_suppress_max') -%}
    {%- set base = var('disclosure_rounding_base') -%}
    {%- if suppress_max is not number or base is not number
        or suppress_max != suppress_max | int or base != base | int -%}
        {{ exceptions.raise_compiler_error(
            "disclosure_suppress_max and disclosure_rounding_base must be whole numbers, got "
            ~ suppress_max ~ " and " ~ base
        ) }}
    {%- endif -%}
    {%- if base < 1 or suppress_max < 0 -%}
        {{ exceptions.raise_compiler_error(
            "disclosure_rounding_base must be at least 1 and disclosure_suppress_max at least 0, got "
            ~ base ~ " and " ~ suppress_max
        ) }}
    {%- endif -%}
    {%- if (suppress_max + 1) * 2 < base -%}
        {{ exceptions.raise_compiler_error(
            "disclosure_suppress_max " ~ suppress_max ~ " is too small for rounding base "
            ~ base ~ ": a count of " ~ (suppress_max + 1) ~ " would be published as 0"
        ) }}
    {%- endif -%}
    {{ return({'suppress_max': suppress_max | int, 'base': base | int}) }}
{%- endmacro %}

{#- Every macro below takes an optional `complementary`: a boolean SQL expression, true for
    a cell chosen as a complementary suppression (published_complementary_suppressions),
    which is suppressed whatever its count. -#}

{#- True when the count is suppressed (1 to the threshold, or complementary); false for 0,
    null for null. -#}
{% macro disclosure_is_suppressed(count, complementary=none) -%}
    {%- set settings = disclosure_settings() -%}
    coalesce(
        {{ count }} between 1 and {{ settings.suppress_max }}
        {%- if complementary %} or ({{ complementary }}){% endif %},
        false
    )
{%- endmacro %}

{#- The count as published: 0, null when suppressed, else rounded to the nearest base,
    halves up, in integer arithmetic (floor((2 x count + base) / (2 x base)) x base). -#}
{% macro disclosure_count(count, complementary=none) -%}
    {%- set settings = disclosure_settings() -%}
    case
        {% if complementary -%}
            when {{ complementary }} then null
        {% endif -%}
        when {{ count }} = 0 then 0
        when {{ count }} > {{ settings.suppress_max }}
            then ((({{ count }}) * 2 + {{ settings.base }}) // {{ settings.base * 2 }})
            * {{ settings.base }}
    end::integer
{%- endmacro %}

{#- The count as shown: '0', '*' when suppressed, else the rounded count; null for null. -#}
{% macro disclosure_display(count, complementary=none) -%}
    case
        when {{ disclosure_is_suppressed(count, complementary) }} then '*'
        else ({{ disclosure_count(count) }})::varchar
    end
{%- endmacro %}

{#- The rule applied to a cell, in words, for published.suppression_log. -#}
{% macro disclosure_rule_suppressed() -%}
    {%- set settings = disclosure_settings() -%}
    'count 1 to {{ settings.suppress_max }} suppressed'
{%- endmacro %}

{#- Must start with 'complementary': dcrs.disclosure reads the log by it. -#}
{% macro disclosure_rule_complementary() -%}
    {%- set settings = disclosure_settings() -%}
    'complementary suppression: suppressed so that no count of 1 to {{ settings.suppress_max }} can be worked out'
{%- endmacro %}

{% macro disclosure_rule_rounded() -%}
    {%- set settings = disclosure_settings() -%}
    'rounded to nearest {{ settings.base }}'
{%- endmacro %}

{#- The client and goal counts of marts.service_summary: each is controlled in
    published.service_summary. Trainers in post and WTE are staff figures and are not. -#}
{% macro disclosure_service_summary_counts() -%}
    {{ return([
        'clients_registered',
        'women',
        'men',
        'eligible_clients',
        'clients_with_php',
        'goals_set',
        'goals_with_outcome',
        'clients_in_target_wards',
        'clients_with_ward_recorded',
        'clients_in_two_most_deprived_quintiles',
        'goals_achieved_or_part',
        'clients_with_goal_outcome',
        'clients_achieved_or_part',
    ]) }}
{%- endmacro %}

{#- The client counts of marts.wellbeing_outcomes: each is controlled in
    published.wellbeing_outcomes (one cell per service, extract, instrument and count). -#}
{% macro disclosure_wellbeing_outcome_counts() -%}
    {{ return([
        'clients_with_baseline',
        'clients_with_follow_up',
        'clients_paired',
        'improved',
    ]) }}
{%- endmacro %}

{#- The counts of marts.monthly_activity: each is controlled in
    published.monthly_activity (one cell per service, extract, month and count), as
    dcrs.disclosure.MONTHLY_COUNTS. -#}
{% macro disclosure_monthly_activity_counts() -%}
    {{ return([
        'clients_registered',
        'clients_assessed',
        'phps_started',
        'goals_set',
        'goal_outcomes_recorded',
        'goals_achieved_or_part_achieved',
        'wellbeing_follow_ups_recorded',
    ]) }}
{%- endmacro %}
