{{ report_measures(
    ref('published_report_measure_categories'),
    ref('published_indicator_metadata'),
) }}
