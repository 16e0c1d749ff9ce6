"""The exact (Garwood) Poisson interval of each client count of int_client_counts_listed
(one row per service and kind of count, exact or published). For a count n and level
1 - alpha the limits are

    lower = chi2.ppf(alpha / 2, 2n) / 2         (0 when n is 0)
    upper = chi2.ppf(1 - alpha / 2, 2n + 2) / 2

the interval Public Health England's tools use for counts. The chi-squared quantiles come
from scipy.special.chdtri (chi2.ppf(q, v) is chdtri(v, 1 - q)): importing scipy.stats
would cost each run about a second more. The level is the dbt variable
projection_interval_level (0.95 by default); marts.client_count_intervals keeps the limits
of every extract, and the service summaries scale them to twelve months of operation."""


def model(dbt, session):
    dbt.config(materialized="table")
    level = float(dbt.config.get("interval_level"))
    counts = dbt.ref("int_client_counts_listed").df()

    import numpy as np
    from scipy.special import chdtri

    alpha = 1.0 - level
    count = counts["client_count"].to_numpy(dtype="float64")
    # chi2 with 0 degrees of freedom has no quantile: the lower limit of a count of 0 is 0
    lower_df = np.where(count > 0, 2 * count, 1.0)
    limits = counts.assign(
        interval_level=level,
        lower_limit=np.where(count > 0, chdtri(lower_df, 1 - alpha / 2) / 2, 0.0),
        upper_limit=chdtri(2 * count + 2, alpha / 2) / 2,
    )
    columns = ["service_code", "count_kind", "client_count", "interval_level"]
    return limits[[*columns, "lower_limit", "upper_limit"]]
