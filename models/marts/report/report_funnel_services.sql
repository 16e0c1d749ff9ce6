{{ report_funnel_points(ref('funnel_services'), 'service_code') }}
