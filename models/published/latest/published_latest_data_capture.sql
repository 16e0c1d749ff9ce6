{#- The latest extract of each service in published.data_capture
    (macros/latest_extract.sql). -#}
{{ latest_extract_rows('published_data_capture') }}
