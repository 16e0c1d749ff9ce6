{{ measure_table('who5_change') }}
