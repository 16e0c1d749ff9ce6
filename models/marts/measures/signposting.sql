{{ measure_table('signposting') }}
