-- Every percent lies inside its 95% Wilson interval: ci_lower <= percent <= ci_upper.
-- Returns the rows with a percent whose interval is missing or does not hold it.
select *
from {{ ref('measure_breakdown') }}
where
    percent is not null
    and not coalesce(ci_lower <= percent and percent <= ci_upper, false)
