{{ report_wellbeing_outcomes(ref('wellbeing_outcomes')) }}
