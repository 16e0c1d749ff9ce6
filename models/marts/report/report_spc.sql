{{ report_spc(ref('spc')) }}
