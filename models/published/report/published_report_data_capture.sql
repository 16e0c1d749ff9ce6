{{ report_data_capture(ref('published_data_capture')) }}
