{{ measure_table('general_health_change') }}
