{#- The published first screen: data capture below standard and headline targets off
    track, from the published report models. No SPC or inequality items yet: the
    published charts and inequalities are not given to it (docs/monitoring.md). -#}
{{ report_attention(
    ref('published_report_data_capture'),
    ref('published_report_headlines'),
) }}
