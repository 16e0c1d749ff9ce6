{#- The slope and relative indices of inequality across deprivation quintiles, with their
    95% intervals or the reason they are withheld, for every extract
    (int_inequality_indices computes them for the extract being built). -#}

-- depends_on: {{ ref('stg_dcrs__manifests') }} (the pre-hook deletes the loaded partition)

with

indices as (

    select * from {{ ref('int_inequality_indices') }}

),

final as (

    select
        service_code::varchar as service_code,
        extract_date::date as extract_date,
        indicator_id::varchar as indicator_id,
        quintiles::integer as quintiles,
        records::integer as records,
        smallest_quintile_records::integer as smallest_quintile_records,
        -- pandas holds a withheld figure as NaN: null here
        nullif(sii::double, 'NaN'::double) as sii,
        nullif(sii_lower::double, 'NaN'::double) as sii_lower,
        nullif(sii_upper::double, 'NaN'::double) as sii_upper,
        nullif(rii::double, 'NaN'::double) as rii,
        nullif(rii_lower::double, 'NaN'::double) as rii_lower,
        nullif(rii_upper::double, 'NaN'::double) as rii_upper,
        withheld_reason::varchar as withheld_reason,
        repetitions::integer as repetitions,
        random_seed::bigint as random_seed
    from indices

)

select * from final
