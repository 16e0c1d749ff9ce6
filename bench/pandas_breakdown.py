"""marts.measure_breakdown for one export, in plain pandas, as an analyst would write it.

    .venv/bin/python bench/pandas_breakdown.py EXPORT_DIR [--out breakdown.csv]

Reads the four CSV files and the seeds with pandas, puts every client (or goal) into its
category of each measure, counts, and adds the denominator, percent, 95% Wilson interval
and benchmark comparison. Like bench/floor.sql it trusts the export (no row triage, no
checks) but reads it as the contract says: labels matched ignoring case, spacing and dash
or apostrophe style, UK dates, code lists and bands from the seeds. bench/run.py runs it in
a fresh process to time it, and checks that its output equals the pipeline's.

One trap an analyst meets at once: pandas reads 'N/A' (a how_heard label, in the export
and in the seeds) as missing unless told not to, hence ``keep_default_na=False`` everywhere.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
VARS = yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]
Z = float(VARS["confidence_z"])
DATE_PATTERN = r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
POSTCODE_PATTERN = r"[A-Z][A-Z]?[0-9][A-Z0-9]?[0-9][A-Z][A-Z]"
DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'"})


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def clean(series: pd.Series) -> pd.Series:
    cleaned = series.str.translate(DASHES).str.strip().str.replace(r"\s+", " ", regex=True)
    return cleaned.replace("", np.nan)


def key(series: pd.Series) -> pd.Series:
    return clean(series).str.lower()


def uk_date(series: pd.Series) -> pd.Series:
    text = series.str.strip()
    text = text.where(text.str.fullmatch(DATE_PATTERN, na=False))
    return pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")


def coded(series: pd.Series, codes: pd.DataFrame, code_list: str, blank: str) -> pd.Series:
    """The code list's category; `blank` when empty; 'Invalid' when in no code list."""
    lookup = codes[codes.code_list == code_list].set_index("code_key")["category"]
    keys = key(series)
    return keys.map(lookup).where(keys.isna() | keys.isin(lookup.index), "Invalid").fillna(blank)


def band(values: pd.Series, bands: pd.DataFrame, measure_id: str) -> pd.Series:
    """The band holding each value: lower bound included, upper bound not."""
    rows = bands[bands.measure_id == measure_id].sort_values("lo")
    edges = list(rows.lo) + [rows.hi.iloc[-1]]
    return pd.cut(values, bins=edges, labels=list(rows.category), right=False).astype(object)


def whole_years(born: pd.Series, on: pd.Series) -> pd.Series:
    before_birthday = (on.dt.month < born.dt.month) | (
        (on.dt.month == born.dt.month) & (on.dt.day < born.dt.day)
    )
    return on.dt.year - born.dt.year - before_birthday.astype(int)


def breakdown(export: Path) -> pd.DataFrame:
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8-sig"))
    service_code = manifest["service_code"]
    extract_date = pd.Timestamp(manifest["extract_date"])
    clients = read(export / "clients.csv")
    goals = read(export / "goals.csv")
    scores = read(export / "wellbeing_scores.csv")

    codes = read(SEEDS / "code_lists.csv")
    codes["code_key"] = key(codes.code)
    categories = pd.read_csv(
        SEEDS / "measure_categories.csv", keep_default_na=False, na_values=[""]
    )
    measures = read(SEEDS / "measures.csv")
    benchmarks = pd.read_csv(SEEDS / "benchmarks.csv", keep_default_na=False, na_values=[""])
    instruments = pd.read_csv(SEEDS / "wellbeing_instruments.csv")
    target_wards = read(SEEDS / "service_target_wards.csv")
    bands = categories[categories.band_lower.notna() | categories.band_upper.notna()].assign(
        lo=lambda frame: frame.band_lower.fillna(-np.inf),
        hi=lambda frame: frame.band_upper.fillna(np.inf),
    )

    # --- clients ------------------------------------------------------------------------
    registered = uk_date(clients.registration_date)
    c = pd.DataFrame(index=clients.index)
    for column in ("gender", "ethnicity", "disability", "how_heard", "referral_source"):
        c[column] = coded(clients[column], codes, column, "Not recorded")

    dob_text = clean(clients.date_of_birth)
    born = uk_date(clients.date_of_birth)
    age = whole_years(born, registered)
    c["age_band"] = band(age, bands, "age_band")
    invalid_dob = (
        born.isna()
        | (born > extract_date)
        | (born > registered)
        | (age > VARS["oldest_plausible_age"])
    )
    c.loc[invalid_dob, "age_band"] = "Invalid"
    c.loc[dob_text.str.lower() == "declined", "age_band"] = "Declined"
    c.loc[dob_text.isna(), "age_band"] = "Not recorded"

    c["deprivation_quintile"] = coded(
        clients.deprivation_quintile, codes, "deprivation_quintile", "Unknown / not recognised"
    )

    postcode = clients.postcode.str.replace(r"\s", "", regex=True).str.upper().replace("", np.nan)
    well_formed = postcode.str.fullmatch(POSTCODE_PATTERN, na=False)
    c["postcode_district"] = np.where(
        postcode.isna(), "Not recorded", np.where(well_formed, postcode.str[:-3], "Invalid")
    )

    # a ward is shown by its most frequent spelling (ties: the first in sort order), or as
    # the service's configuration spells a target ward
    ward_key, ward_name = key(clients.ward), clean(clients.ward)
    spellings = (
        pd.DataFrame({"ward_key": ward_key, "ward": ward_name})
        .dropna()
        .value_counts()
        .rename("clients")
        .reset_index()
        .sort_values(["ward_key", "clients", "ward"], ascending=[True, False, True])
        .drop_duplicates("ward_key")
        .set_index("ward_key")["ward"]
    )
    targets = target_wards[target_wards.service_code == service_code]
    spellings.update(pd.Series(targets.ward.values, index=key(targets.ward)))
    c["ward"] = ward_key.map(spellings).fillna("Not recorded")

    c["month_first_seen"] = registered.dt.strftime("%B %Y")
    c["eligibility"] = coded(clients.eligible, codes, "eligible", "Not yet assessed")
    eligible = c.eligibility == "Eligible"
    c["primary_health_issue"] = coded(
        clients.primary_health_issue, codes, "primary_health_issue", "Not recorded"
    ).where(eligible)
    bmi = pd.to_numeric(clients.bmi.str.strip(), errors="coerce")
    bmi_band = band(bmi, bands, "bmi_band")
    bmi_band[bmi.isna() | (bmi < VARS["bmi_min"]) | (bmi > VARS["bmi_max"])] = "Invalid"
    bmi_band[clean(clients.bmi).isna()] = "Not recorded"
    c["bmi_band"] = bmi_band.where(eligible)
    goals_set = clients.client_id.map(goals.client_id.value_counts()).fillna(0)
    c["php_goal_count"] = band(goals_set, bands, "php_goal_count")
    c["signposting"] = coded(clients.signposted_to, codes, "signposted_to", "Not yet done")

    # --- goals --------------------------------------------------------------------------
    g = pd.DataFrame(index=goals.index)
    g["goal"] = coded(goals.goal, codes, "goal", "Invalid")
    g["goal_type"] = g.goal.str.split(" - ").str[0]
    g["goal_outcome"] = coded(goals.outcome, codes, "outcome", "No outcome yet")

    # --- wellbeing changes --------------------------------------------------------------
    s = pd.DataFrame(
        {
            "client_id": scores.client_id,
            "instrument": coded(scores.instrument, codes, "instrument", "Invalid"),
            "stage": coded(scores.stage, codes, "stage", "Invalid"),
            "score": pd.to_numeric(scores.score.str.strip(), errors="coerce"),
        }
    ).merge(instruments, on="instrument")
    in_range = s.score.between(s.raw_min, s.raw_max)
    s["percent"] = (s.score * s.percent_per_raw_point).where(in_range)
    s = s[s.stage != "Invalid"]
    by_pair = s.groupby(["client_id", "instrument", "stage"]).percent
    rows = by_pair.size().unstack(fill_value=0).reindex(columns=["baseline", "follow_up"])
    paired = by_pair.max().unstack().reindex(columns=["baseline", "follow_up"])
    # only clients with both a baseline and a follow-up row are in a change measure
    paired = paired[(rows.baseline > 0) & (rows.follow_up > 0)]
    paired = paired.reset_index().merge(instruments, on="instrument")
    ratio = (paired.follow_up - paired.baseline) / paired.change_step
    # rounded to the nearest step, halves away from zero (as DuckDB's round)
    paired["change"] = np.sign(ratio) * np.floor(np.abs(ratio) + 0.5) * paired.change_step
    change_parts = []
    for measure_id, part in paired.groupby("measure_id"):
        change_parts.append(
            pd.DataFrame(
                {
                    "measure_id": measure_id,
                    "category": band(part.change, bands, measure_id).fillna("Invalid"),
                }
            )
        )

    # --- counts -------------------------------------------------------------------------
    long = pd.concat(
        [
            c.melt(var_name="measure_id", value_name="category"),
            g.melt(var_name="measure_id", value_name="category"),
            *change_parts,
        ],
        ignore_index=True,
    ).dropna()
    counts = long.value_counts(["measure_id", "category"]).rename("n").reset_index()

    # --- every category of every measure, in order --------------------------------------
    seeded = categories[["measure_id", "category", "category_order", "excluded_from_denominator"]]
    found = counts[counts.measure_id.isin(["postcode_district", "ward"])].merge(
        seeded, on=["measure_id", "category"], how="left", indicator=True
    )
    found = found[found._merge == "left_only"].sort_values(["measure_id", "category"])
    found["category_order"] = found.groupby("measure_id").cumcount() + 1
    found["excluded_from_denominator"] = False
    months = pd.period_range(registered.min().to_period("M"), extract_date.to_period("M"), freq="M")
    month_frame = pd.DataFrame(
        {
            "measure_id": "month_first_seen",
            "category": months.strftime("%B %Y"),
            "category_order": np.arange(1, len(months) + 1),
            "excluded_from_denominator": False,
        }
    )
    frame = pd.concat([seeded, found[seeded.columns], month_frame], ignore_index=True).merge(
        counts, on=["measure_id", "category"], how="left"
    )
    frame["n"] = frame.n.fillna(0).astype(int)
    included = frame.excluded_from_denominator.astype(str).str.lower() != "true"
    totals = frame[included].groupby("measure_id").n.sum()
    frame["denominator"] = frame.measure_id.map(totals).where(included)

    n, d = frame.n.astype(float), frame.denominator
    usable = d > 0
    frame["percent"] = (100.0 * n / d).where(usable)
    spread = Z * np.sqrt(Z**2 + 4 * n * (1 - n / d))
    frame["ci_lower"] = (100.0 * (2 * n + Z**2 - spread) / (2 * (d + Z**2))).clip(0, 100)
    frame["ci_upper"] = (100.0 * (2 * n + Z**2 + spread) / (2 * (d + Z**2))).clip(0, 100)
    frame[["ci_lower", "ci_upper"]] = frame[["ci_lower", "ci_upper"]].where(usable, axis=0)

    frame = frame.merge(
        measures[["measure_id", "measure_order", "benchmark_name"]], on="measure_id"
    )
    frame = frame.merge(
        benchmarks[["measure_id", "category", "benchmark_name", "benchmark_percent"]],
        on=["measure_id", "category", "benchmark_name"],
        how="left",
    )
    frame["benchmark_name"] = frame.benchmark_name.where(frame.benchmark_percent.notna())
    frame["comparison"] = np.select(
        [
            frame.benchmark_percent.isna() | frame.ci_lower.isna(),
            frame.ci_lower > frame.benchmark_percent,
            frame.ci_upper < frame.benchmark_percent,
        ],
        [None, "higher", "lower"],
        default="similar",
    )
    frame["service_code"] = service_code
    frame["extract_date"] = extract_date.date().isoformat()
    frame["measure_order"] = frame.measure_order.astype(int)
    frame = frame.sort_values(["measure_order", "category_order"])
    return frame[
        [
            "service_code",
            "extract_date",
            "measure_id",
            "category",
            "category_order",
            "n",
            "denominator",
            "percent",
            "ci_lower",
            "ci_upper",
            "benchmark_name",
            "benchmark_percent",
            "comparison",
        ]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="the export folder")
    parser.add_argument("--out", type=Path, help="write the breakdown to this CSV file")
    arguments = parser.parse_args()
    result = breakdown(arguments.export)
    if arguments.out:
        result.to_csv(arguments.out, index=False, float_format="%.17g")
    print(f"pandas: {len(result)} rows in measure_breakdown")


if __name__ == "__main__":
    main()
