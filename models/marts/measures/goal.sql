{{ measure_table('goal') }}
