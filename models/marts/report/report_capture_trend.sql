{{ report_capture_trend(ref('data_capture')) }}
