{{ measure_table('php_goal_count') }}
