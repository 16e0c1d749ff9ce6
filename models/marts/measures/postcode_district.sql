{{ measure_table('postcode_district') }}
