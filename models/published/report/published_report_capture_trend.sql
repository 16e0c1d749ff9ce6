{{ report_capture_trend(ref('published_data_capture')) }}
