{{ measure_table('primary_health_issue') }}
