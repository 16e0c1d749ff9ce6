{#- Label matching as the export contract defines it: ignore case, surrounding white space,
    runs of spaces, hyphen / en-dash / em-dash, straight / curly apostrophes.

    Most values are printable ASCII (space to tilde) without two spaces in a row: for them
    translate and the regular expression change nothing and trimming gives the same result,
    so the regular expression (the costly part, on millions of rows) runs only on the
    others. -#}

{% macro clean_text(expression) -%}
    case
        when regexp_matches({{ expression }}, '[^ -~]|  ')
            then nullif(
                regexp_replace(
                    trim(
                        translate({{ expression }}, '–—‘’', '--''''')
                    ),
                    '\s+',
                    ' ',
                    'g'
                ),
                ''
            )
        else nullif(trim({{ expression }}), '')
    end
{%- endmacro %}

{% macro label_key(expression) -%}
    lower({{ clean_text(expression) }})
{%- endmacro %}

{#- A goal outcome that counts as recorded (Achieved, Part Achieved or Not Achieved; not
    Not Yet Known, Invalid or blank), and one that counts as achieved or part achieved:
    the goal measures' definitions (measures.md), in one place. -#}
{% macro goal_outcome_recorded(column) -%}
    {{ column }} in ('Achieved', 'Part Achieved', 'Not Achieved')
{%- endmacro %}

{% macro goal_outcome_achieved(column) -%}
    {{ column }} in ('Achieved', 'Part Achieved')
{%- endmacro %}
