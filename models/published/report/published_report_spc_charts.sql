{{ report_spc_charts(ref('published_spc'), published=true) }}
