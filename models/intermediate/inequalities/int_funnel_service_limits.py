"""The service funnel plots across the warehouse: each service's latest extract in
marts.funnel_trainers, its trainers' counts summed (the service's own percent), the
pooled percent of every service as the centre line, and PHE's 95% and 99.8% funnel
limits for a proportion at each service's denominator, with PHE's significance
(dcrs.inequality_methods)."""


def model(dbt, session):
    dbt.config(materialized="table")
    trainers = dbt.ref("funnel_trainers").df()
    levels = dbt.ref("confidence_levels").df().set_index("confidence_level_id")

    from dcrs.inequality_methods import funnel_limits_frame

    latest = trainers["extract_date"] == trainers.groupby("service_code")[
        "extract_date"
    ].transform("max")
    services = (
        trainers[latest]
        .groupby(["indicator_id", "service_code", "extract_date"], as_index=False)[
            ["n", "denominator"]
        ]
        .sum()
    )
    return funnel_limits_frame(
        services,
        keys=["indicator_id"],
        unit="service_code",
        is_unit_known=services["denominator"] > 0,
        z_95=float(levels.loc["ci_95", "two_sided_z"]),
        z_998=float(levels.loc["ci_998", "two_sided_z"]),
    ).merge(services[["indicator_id", "service_code", "extract_date"]])
