{{ report_measures(ref('report_measure_categories'), ref('indicator_metadata')) }}
