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

final as (

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

)

select * from final
