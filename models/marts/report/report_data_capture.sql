{{ report_data_capture(ref('data_capture')) }}
