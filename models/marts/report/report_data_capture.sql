{{ config(materialized='view') }}

{{ report_data_capture(ref('data_capture')) }}
