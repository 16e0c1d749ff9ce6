{{ report_activity(ref('published_monthly_activity'), published=true) }}
