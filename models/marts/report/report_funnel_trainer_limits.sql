{{ report_funnel_limits(ref('report_funnel_trainers')) }}
