{{ report_activity(ref('monthly_activity')) }}
