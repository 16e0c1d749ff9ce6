{{ measure_table('ethnicity') }}
