{{ report_headlines(ref('service_summary'), ref('london_comparison')) }}
