{{ measure_table('deprivation_quintile') }}
