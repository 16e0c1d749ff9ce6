{{ measure_table('month_first_seen') }}
