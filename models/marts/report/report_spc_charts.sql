{{ report_spc_charts(ref('spc')) }}
