{{ report_inequality_indices(ref('inequality_indices')) }}
