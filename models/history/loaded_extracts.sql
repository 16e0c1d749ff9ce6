{#- Every extract loaded, by service, with the extract loaded before it: the order in which
    record versions follow each other. -#}

with

manifest as (

    select * from {{ ref('stg_dcrs__manifests') }}

),

{% if is_incremental() %}
earlier as (

    -- the loaded partition was deleted by the pre-hook: these are earlier extracts
    select
        service_code,
        max(extract_date) as previous_extract_date
    from {{ this }}
    group by service_code

),
{% else %}
    earlier as (

        select
            null::varchar as service_code,
            null::date as previous_extract_date
        where false

    ),
{% endif %}

final as (

    select
        manifest.service_code,
        manifest.extract_date,
        manifest.service_name,
        earlier.previous_extract_date
    from manifest
    left join earlier
        on
            manifest.service_code = earlier.service_code
            and manifest.extract_date > earlier.previous_extract_date

)

select * from final
