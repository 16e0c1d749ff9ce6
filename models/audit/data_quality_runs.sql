{#- Every run's quality results, kept: a reload of an extract adds its results beside the
    earlier runs' instead of replacing them (keep_every_run skips the partition delete). -#}

{{ config(keep_every_run=true) }}

with

results as (

    select * from {{ ref('data_quality_results') }}
    where {{ in_loaded_partition() }}

),

final as (

    select
        '{{ invocation_id }}' as run_id,
        '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}'::timestamp as run_at,
        results.*
    from results

)

select * from final
