{{ report_inequality_indices(ref('published_inequality_indices')) }}
