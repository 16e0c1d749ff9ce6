{{ measure_table('disability') }}
