{{ report_london_comparison(ref('london_comparison')) }}
