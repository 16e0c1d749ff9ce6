{{ report_measures(ref('published_report_measure_categories')) }}
