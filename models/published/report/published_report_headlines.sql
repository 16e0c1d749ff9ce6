{{ report_headlines(
    ref('published_service_summary'),
    ref('published_london_comparison'),
    published=true,
) }}
