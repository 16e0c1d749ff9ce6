{#- The published first screen: data capture below standard and headline targets off
    track, from the published report models. No SPC or inequality items: the published
    schema has no SPC chart or inequality table yet. -#}
{{ report_attention(
    ref('published_report_data_capture'),
    ref('published_report_headlines'),
) }}
