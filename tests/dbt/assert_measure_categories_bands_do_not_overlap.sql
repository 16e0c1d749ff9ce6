-- Each value falls in at most one band of a measure: a band that overlapped another would
-- put a client (or a score change) into two categories, counting it twice in
-- measure_breakdown. int_clients_categorised is checked for one row per client; the
-- change bands are checked here, on the seed, for every banded measure. Returns each pair
-- of overlapping bands. A missing bound is open (minus or plus infinity).
with

bands as (
    {{ measure_bands() }}
)

select
    first_band.measure_id,
    first_band.category as first_category,
    second_band.category as second_category
from bands as first_band
inner join bands as second_band
    on
        first_band.measure_id = second_band.measure_id
        and first_band.category < second_band.category
        and first_band.band_lower < second_band.band_upper
        and first_band.band_upper > second_band.band_lower
