{#- The latest extract of each service in marts.service_summary (macros/latest_extract.sql). -#}
{{ latest_extract_rows('service_summary') }}
