{#- Generic test: none of the columns holds a null. One scan of the model for all of them
    (rather than one test, and one scan, per column); returns each column that has nulls,
    with how many. -#}
{% test not_null_columns(model, columns) %}

    with

    counted as (

        select
            {%- for column in columns %}
                count(*) filter (where {{ column }} is null) as {{ column }}
                {%- if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ model }}

    ),

    unpivoted as (

        unpivot counted
        on {{ columns | join(', ') }}
        into name null_column value null_rows

    )

    select
        null_column,
        null_rows
    from unpivoted
    where null_rows > 0

{% endtest %}
