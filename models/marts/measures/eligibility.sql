{{ measure_table('eligibility') }}
