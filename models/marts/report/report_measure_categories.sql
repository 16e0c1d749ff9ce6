{{ report_measure_categories(ref('measure_breakdown')) }}
