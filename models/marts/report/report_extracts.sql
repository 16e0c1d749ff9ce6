{{ report_extracts(ref('service_summary'), ref('data_capture')) }}
