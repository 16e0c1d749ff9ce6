{#- Generic test: the columns together identify a row. Returns each duplicated key.

    Keys are first compared by their hash (8 bytes a row, whatever the key's width), and
    only rows whose hash is seen more than once are grouped again by the key itself: on
    the long tables (5.5M record states at a million clients) a group-by of the full keys
    ran out of memory under a small DuckDB limit when dbt ran another such test beside
    it, though each alone spilled to disk. -#}
{% test unique_combination(model, columns) %}

    with

    key_hashes as (

        select hash({{ columns | join(', ') }}) as key_hash
        from {{ model }}

    ),

    repeated_hashes as (

        select key_hash
        from key_hashes
        group by key_hash
        having count(*) > 1

    ),

    candidates as (

        select {{ columns | join(', ') }}
        from {{ model }}
        where hash({{ columns | join(', ') }}) in (select key_hash from repeated_hashes)

    )

    select
        {{ columns | join(', ') }},
        count(*) as rows_for_key
    from candidates
    group by {{ columns | join(', ') }}
    having count(*) > 1

{% endtest %}
