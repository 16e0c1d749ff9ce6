{#- The published first screen: data capture below standard and headline targets off
    track, from the published report models; special causes, assurance fails and
    widening gaps from the published charts and inequalities, which are drawn from the
    controlled counts (a withheld chart or a suppressed group gives no item). -#}
{{ report_attention(
    ref('published_report_data_capture'),
    ref('published_report_headlines'),
    spc=ref('published_spc'),
    inequalities=ref('published_inequalities'),
) }}
