{#- dbt-duckdb 1.11.1 builds the new rows of an incremental Python model into a table
    <model>__dbt_tmp<time> in the main schema of the warehouse (a SQL model's is a
    temporary table) and never drops it: every run after the first left one behind in the
    published warehouse. The Python model's post-hook drops them. -#}
{% macro drop_python_model_temp_tables() -%}
    {%- set leftovers = [] -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select table_name from duckdb_tables() "
            ~ "where database_name = current_database() and schema_name = 'main' "
            ~ "and starts_with(table_name, '" ~ this.identifier ~ "__dbt_tmp')"
        ) -%}
        {%- set leftovers = found.columns[0].values() -%}
    {%- endif -%}
    {%- for name in leftovers %}
        drop table if exists main.{{ adapter.quote(name) }};
    {%- else %}
        select 1 as no_temporary_table
    {%- endfor %}
{%- endmacro %}
