{{ measure_table('referral_source') }}
