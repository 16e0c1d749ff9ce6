{{ measure_table('bmi_band') }}
