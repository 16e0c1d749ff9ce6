with

source as (

    select * from {{ source('dcrs', 'export_files') }}

),

renamed as (

    select
        file_name,
        encoding,
        rows_read,
        manifest_row_count,
        extra_columns

    from source

)

select * from renamed
