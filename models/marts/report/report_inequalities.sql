{{ report_inequalities(ref('inequalities')) }}
