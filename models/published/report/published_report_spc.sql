{{ report_spc(ref('published_spc'), published=true) }}
