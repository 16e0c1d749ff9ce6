"""The slope index of inequality (SII) and relative index (RII) across the five
deprivation quintiles of each indicator of marts.inequalities for the extract being
built, as PHEindicatormethods' phe_sii computes them for a proportion (value_type = 2,
transform = TRUE, multiplier 100: the SII in percentage points), with PHE's Monte Carlo
95% interval (dcrs.inequality_methods). Quintile 1 is the most deprived, so a positive
SII means the indicator is higher among the less deprived. Only the comparable quintiles
count (Unknown / not recognised and Invalid are left out). Withheld, with the reason,
for reach (a share of the service's clients, not a rate within each quintile), when a
quintile has fewer than var('inequality_sii_min_records') units in the indicator's
population, and when a quintile's percent is 0 or 100 (its logit is not finite).
dcrs.inequality_methods.inequality_indices computes them (published.inequality_indices
calls it on the controlled counts)."""


def model(dbt, session):
    dbt.config(materialized="table")
    manifest = dbt.ref("stg_dcrs__manifests").df()[["service_code", "extract_date"]]
    rows = dbt.ref("inequalities").df().merge(manifest, on=["service_code", "extract_date"])

    from dcrs.inequality_methods import inequality_indices

    return inequality_indices(
        rows,
        int(dbt.config.get("min_records")),
        int(dbt.config.get("repetitions")),
        int(dbt.config.get("random_seed")),
    )
