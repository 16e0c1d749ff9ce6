-- Over the categories of a measure that count in its denominator, the percents add up to
-- 100 (within 1e-9) wherever the denominator is above 0. Excluded categories have a null
-- denominator and drop out. Returns the measures whose percents do not add up.
select
    service_code,
    extract_date,
    measure_id,
    sum(percent) as percent_total
from {{ ref('measure_breakdown') }}
where denominator > 0
group by service_code, extract_date, measure_id
having abs(sum(percent) - 100) > 1e-9
