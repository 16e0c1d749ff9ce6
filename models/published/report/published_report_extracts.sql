{{ report_extracts(
    ref('published_service_summary'),
    ref('published_data_capture'),
    published=true,
) }}
