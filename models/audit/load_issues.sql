{#- The problems of audit.load_issue_values (private store) without their values: the
    file, line, column and reason tell the service where to look in its export, and the
    warehouse analysts open holds no value of a record. -#}

with

issue_values as (

    select * from {{ ref('load_issue_values') }}
    where {{ in_loaded_partition() }}

),

final as (

    select
        service_code,
        extract_date,
        file_name,
        line,
        column_name,
        reason,
        outcome
    from issue_values
    order by file_name, line, column_name

)

select * from final
