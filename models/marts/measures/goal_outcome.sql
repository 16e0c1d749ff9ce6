{{ measure_table('goal_outcome') }}
