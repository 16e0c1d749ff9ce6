{{ report_wellbeing_outcomes(ref('published_wellbeing_outcomes')) }}
