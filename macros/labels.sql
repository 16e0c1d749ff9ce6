{#- Label matching as the export contract defines it: ignore case, surrounding white space,
    runs of spaces, hyphen / en-dash / em-dash, straight / curly apostrophes. -#}

{% macro clean_text(expression) -%}
    nullif(
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
{%- endmacro %}

{% macro label_key(expression) -%}
    lower({{ clean_text(expression) }})
{%- endmacro %}
