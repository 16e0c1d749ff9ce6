{{ measure_table('age_band') }}
