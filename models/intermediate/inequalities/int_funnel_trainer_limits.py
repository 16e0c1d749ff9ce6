"""The trainer funnel plots of the extract being built: each trainer's percent of each
indicator (int_funnel_trainer_counts), the service's overall percent as the centre line,
and PHE's 95% and 99.8% funnel limits for a proportion at the trainer's denominator, with
PHE's significance (dcrs.inequality_methods: PHEindicatormethods' calculate_funnel_limits
and assign_funnel_significance). The z of each level come from the confidence_levels
seed. Clients with no trainer recorded, or an unknown one, are rows of their own with
no significance."""


def model(dbt, session):
    dbt.config(materialized="table")
    counts = dbt.ref("int_funnel_trainer_counts").df()
    levels = dbt.ref("confidence_levels").df().set_index("confidence_level_id")

    from dcrs.inequality_methods import funnel_limits_frame

    return funnel_limits_frame(
        counts,
        keys=["service_code", "extract_date", "indicator_id"],
        unit="health_trainer_id",
        is_unit_known=~counts["health_trainer_id"].isin(["Not recorded", "Invalid"]),
        z_95=float(levels.loc["ci_95", "two_sided_z"]),
        z_998=float(levels.loc["ci_998", "two_sided_z"]),
    )
