{{ report_attention(
    ref('report_data_capture'),
    ref('report_headlines'),
    spc=ref('spc'),
    inequalities=ref('inequalities'),
) }}
