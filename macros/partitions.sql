{#- Marts, audit, history and published tables keep every extract loaded, one partition
    per service and extract. A run builds the partition of the export it loads (the one
    manifest in raw): models that read one of these tables read only that partition, and
    an incremental model deletes it first (a pre-hook set in dbt_project.yml), so loading
    the same export twice leaves the table as it was. -#}

{% macro in_loaded_partition(relation_alias=none) -%}
    {%- set prefix = relation_alias ~ '.' if relation_alias else '' -%}
    ({{ prefix }}service_code, {{ prefix }}extract_date) in (
        select
            loaded.service_code,
            loaded.extract_date
        from {{ ref('stg_dcrs__manifests') }} as loaded
    )
{%- endmacro %}

{#- A model configured keep_every_run (audit.data_quality_runs) keeps the rows of earlier
    runs of the same extract: it is not deleted first. -#}
{% macro delete_loaded_partition() -%}
    {%- if is_incremental() and not config.get('keep_every_run', false) -%}
        delete from {{ this }} where {{ in_loaded_partition() }}
    {%- endif -%}
{%- endmacro %}
