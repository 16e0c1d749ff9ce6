{#- The latest extract of each service in published.service_summary
    (macros/latest_extract.sql). -#}
{{ latest_extract_rows('published_service_summary') }}
