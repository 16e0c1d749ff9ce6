{{ measure_table('how_heard') }}
