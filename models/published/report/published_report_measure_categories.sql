{{ report_measure_categories(ref('published_measure_breakdown'), published=true) }}
