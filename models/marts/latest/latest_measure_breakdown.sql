{#- The latest extract of each service in marts.measure_breakdown (macros/latest_extract.sql). -#}
{{ latest_extract_rows('measure_breakdown') }}
