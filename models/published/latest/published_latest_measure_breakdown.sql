{#- The latest extract of each service in published.measure_breakdown
    (macros/latest_extract.sql). -#}
{{ latest_extract_rows('published_measure_breakdown') }}
