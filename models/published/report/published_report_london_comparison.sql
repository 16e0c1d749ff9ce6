{{ report_london_comparison(ref('published_london_comparison')) }}
