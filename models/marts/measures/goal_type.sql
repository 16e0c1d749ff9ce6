{{ measure_table('goal_type') }}
