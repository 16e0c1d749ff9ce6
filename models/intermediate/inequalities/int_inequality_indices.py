"""The slope index of inequality (SII) and relative index (RII) across the five
deprivation quintiles of each indicator of marts.inequalities for the extract being
built, as PHEindicatormethods' phe_sii computes them for a proportion (value_type = 2,
transform = TRUE, multiplier 100: the SII in percentage points), with PHE's Monte Carlo
95% interval (dcrs.inequality_methods). Quintile 1 is the most deprived, so a positive
SII means the indicator is higher among the less deprived. Only the comparable quintiles
count (Unknown / not recognised and Invalid are left out). Withheld, with the reason,
for reach (a share of the service's clients, not a rate within each quintile), when a
quintile has fewer than var('inequality_sii_min_records') units in the indicator's
population, and when a quintile's percent is 0 or 100 (its logit is not finite)."""

import zlib

QUINTILES = 5


def model(dbt, session):
    dbt.config(materialized="table")
    min_records = int(dbt.config.get("min_records"))
    repetitions = int(dbt.config.get("repetitions"))
    random_seed = int(dbt.config.get("random_seed"))
    manifest = dbt.ref("stg_dcrs__manifests").df()[["service_code", "extract_date"]]
    rows = dbt.ref("inequalities").df()

    import numpy as np
    import pandas as pd

    from dcrs.inequality_methods import phe_sii_proportion

    quintiles = rows[(rows["dimension"] == "deprivation_quintile") & rows["is_comparable"]].merge(
        manifest, on=["service_code", "extract_date"]
    )
    keys = ["service_code", "extract_date", "indicator_id"]
    results = []
    for (service_code, extract_date, indicator_id), group in quintiles.groupby(keys):
        group = group.sort_values("group_order")
        denominator = group["denominator"].fillna(0).to_numpy(dtype="float64")
        n = group["n"].to_numpy(dtype="float64")
        # the quintile's records: its units in the indicator's population (reach: clients)
        records = n if indicator_id == "reach" else denominator
        figures = {
            "service_code": service_code,
            "extract_date": extract_date,
            "indicator_id": indicator_id,
            "quintiles": len(group),
            "records": int(records.sum()),
            "smallest_quintile_records": int(records.min()),
            "withheld_reason": None,
        }
        if indicator_id == "reach":
            figures["withheld_reason"] = (
                "reach is a share of the service's clients, not a rate within each quintile"
            )
        elif len(group) != QUINTILES or records.min() < min_records:
            figures["withheld_reason"] = (
                f"a deprivation quintile has fewer than {min_records} records"
            )
        elif ((n == 0) | (n == denominator)).any():
            figures["withheld_reason"] = (
                "a deprivation quintile is at 0% or 100%: its logit is not finite"
            )
        else:
            key = f"{service_code}|{extract_date}|{indicator_id}".encode()
            rng = np.random.default_rng([random_seed, zlib.crc32(key)])
            result = phe_sii_proportion(
                denominator,
                n / denominator,
                group["ci_lower"].to_numpy(dtype="float64") / 100,
                group["ci_upper"].to_numpy(dtype="float64") / 100,
                transform=True,
                multiplier=100.0,
                repetitions=repetitions,
                rng=rng,
            )
            figures.update(vars(result))
        results.append(figures)
    columns = [
        *keys,
        "quintiles",
        "records",
        "smallest_quintile_records",
        "sii",
        "sii_lower",
        "sii_upper",
        "rii",
        "rii_lower",
        "rii_upper",
        "withheld_reason",
    ]
    frame = pd.DataFrame(results).reindex(columns=columns)
    return frame.assign(repetitions=repetitions, random_seed=random_seed)
