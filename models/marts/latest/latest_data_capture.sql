{#- The latest extract of each service in marts.data_capture (macros/latest_extract.sql). -#}
{{ latest_extract_rows('data_capture') }}
