{{ report_inequalities(ref('published_inequalities'), published=true) }}
