{{ report_measures(ref('report_measure_categories')) }}
