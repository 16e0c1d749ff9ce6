{{ measure_table('self_efficacy_change') }}
