with

trainers as (

    select * from {{ ref('stg_dcrs__health_trainers') }}

),

ranked as (

    select
        source_line,
        health_trainer_id,
        case
            when health_trainer_id is not null
                then max(source_line) over (partition by health_trainer_id)
        end as kept_line

    from trainers

),

triaged as (

    select
        source_line,
        health_trainer_id,
        'health_trainer_id' as rejection_column,
        health_trainer_id as rejected_value,
        case
            when health_trainer_id is null then 'health_trainer_id is blank'
            when source_line <> kept_line
                then 'duplicate health_trainer_id: line ' || kept_line || ' is kept instead'
        end as rejection_reason
    from ranked

),

final as (

    -- what rejected the row, only where it was rejected
    select
        source_line,
        health_trainer_id,
        case when rejection_reason is not null then rejection_column end as rejection_column,
        case when rejection_reason is not null then rejected_value end as rejected_value,
        rejection_reason
    from triaged

)

select * from final
