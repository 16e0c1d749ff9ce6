{#- XmR charts as NHSRplotthedots (0.2.2) draws them by default: one chart per service,
    extract and indicator over the months of int_spc_points whose value is not null
    (macros/spc.sql, xmr_chart, which published.spc draws on the controlled counts too;
    docs/monitoring.md). -#}

-- the partition a run replaces is the loaded manifest's (macros/partitions.sql)
-- depends_on: {{ ref('stg_dcrs__manifests') }}

with

points as (

    select * from {{ ref('int_spc_points') }}

),

{{ xmr_chart('points') }}

select * from final
