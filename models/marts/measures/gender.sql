{{ measure_table('gender') }}
