"""Issue 18 end to end: a generated service with 13 monthly extracts (the session fixture
``monitoring_warehouse``: ``dcrs generate``, then ``dcrs rebuild`` extract by extract),
and every issue-18 mart checked against a calculation written here from the exports' CSV
files alone, with pandas, numpy and scipy: never the warehouse's staging or intermediate
models, the project's SQL or ``dcrs.inequality_methods``. The only project files read are
reference data, as files: the code lists, categories and bands, ethnic groups, indicator
and field lists, confidence levels (seeds/) and the data capture threshold
(dbt_project.yml).

- monthly_activity: every count of every month of every extract;
- spc: an XmR chart written from NHSRplotthedots 0.2.2's definition (ptd_spc_standard,
  ptd_special_cause_type, ptd_get_icons, ptd_calculate_assurance_type): mean, limits
  (after the moving-range screening), special cause and rule of every point, both icons;
- inequalities: n, denominator, percent and Wilson interval of every row;
- inequality_indices: the SII and RII from a weighted least-squares fit (numpy's
  polyfit), their intervals against PHE's documented Monte Carlo method (loosely: an
  independent simulation), and the withheld reasons;
- funnel_trainers, funnel_services: PHE's funnel limits for proportions (the percent at
  which a unit's Wilson interval just reaches the centre line: PHEindicatormethods'
  sigma_adjustment, found here by root-finding) and PHE's significance;
- data_capture_by_group: recorded and total per field, dimension and group.

docs/monitoring.md says how to reproduce it, and how long it takes.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, connect, outputs_of
from numpy.lib.stride_tricks import sliding_window_view

pytestmark = pytest.mark.xdist_group("monitoring_service")

SEEDS = ROOT / "seeds"
SERVICE = "S001"
EXTRACTS = 13
TOLERANCE = 1e-9  # floating point only: every figure is computed the same way here

# NHSRplotthedots 0.2.2's constants (R/ptd_spc_standard.R, R/ptd_calculate_point_type.R,
# R/ptd_add_short_group_warnings.R: getOption("ptd_spc.warning_threshold", 13))
LIMIT = 2.66
SCREEN = 3.267
RUN = 7
SHORT_CHART = 13

ACTIVITY_COLUMNS = [
    "clients_registered",
    "clients_assessed",
    "phps_started",
    "goals_set",
    "goal_outcomes_recorded",
    "goals_achieved_or_part_achieved",
    "wellbeing_follow_ups_recorded",
]
ACHIEVED = ("Achieved", "Part Achieved")
OUTCOMES = ("Achieved", "Part Achieved", "Not Achieved")
DIMENSIONS = ["deprivation_quintile", "ethnic_group", "age_band", "gender", "disability"]
PEOPLE_FIELDS = [
    "health_trainer_id",
    "gender",
    "date_of_birth",
    "ethnicity",
    "disability",
    "postcode",
    "ward",
    "deprivation_quintile",
    "how_heard",
    "referral_source",
    "eligible",
    "signposted_to",
    "referral_source_other",
    "initial_assessment_date",
    "primary_health_issue",
    "bmi",
]
POSTCODE = re.compile(r"[A-Z][A-Z]?[0-9][A-Z0-9]?[0-9][A-Z][A-Z]")


# ------------------------------------------------------------------------------------------
# Reference data, read as files
# ------------------------------------------------------------------------------------------


def label_key(values: pd.Series) -> pd.Series:
    """The contract's label matching: case, surrounding and repeated spaces, dashes and
    apostrophes ignored."""
    return (
        values.str.lower()
        .str.replace("[\u2013\u2014]", "-", regex=True)
        .str.replace("[\u2018\u2019]", "'", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )


@cache
def code_lists() -> dict[str, dict[str, str]]:
    """Each code list: its codes (as matched) to their categories."""
    rows = pd.read_csv(SEEDS / "code_lists.csv", dtype=str, keep_default_na=False)
    rows["key"] = label_key(rows["code"])
    return {
        name: dict(zip(group["key"], group["category"], strict=True))
        for name, group in rows.groupby("code_list")
    }


@cache
def categories() -> pd.DataFrame:
    return pd.read_csv(SEEDS / "measure_categories.csv")


@cache
def ethnic_groups() -> pd.DataFrame:
    return pd.read_csv(SEEDS / "ethnic_groups.csv")


@cache
def z_values() -> tuple[float, float]:
    levels = pd.read_csv(SEEDS / "confidence_levels.csv").set_index("confidence_level_id")
    return float(levels.loc["ci_95", "two_sided_z"]), float(levels.loc["ci_998", "two_sided_z"])


@cache
def capture_threshold() -> float:
    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text())
    return float(project["vars"]["data_capture_default_threshold_percent"])


def group_list(dimension: str) -> pd.DataFrame:
    """Every group of a dimension: group_name, is_comparable, excluded (from reach's
    denominator)."""
    if dimension == "ethnic_group":
        groups = ethnic_groups().drop_duplicates("ethnic_group")
        return pd.DataFrame(
            {
                "group_name": groups["ethnic_group"],
                "is_comparable": groups["is_comparable"],
                "excluded": groups["ethnic_group"] == "Invalid",
            }
        )
    rows = categories()[categories()["measure_id"] == dimension]
    return pd.DataFrame(
        {
            "group_name": rows["category"],
            "is_comparable": rows["is_comparable"],
            "excluded": rows["excluded_from_denominator"],
        }
    )


# ------------------------------------------------------------------------------------------
# The exports, read from their CSV files
# ------------------------------------------------------------------------------------------


def read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [column.strip().lower() for column in frame.columns]
    stripped = frame.apply(lambda column: column.str.strip())
    return stripped.where(stripped != "")


def uk_date(values: pd.Series, extract_date: pd.Timestamp) -> pd.Series:
    """DD/MM/YYYY (or D/M/YYYY); not a date, or after the extract date: NaT."""
    dates = pd.to_datetime(values, format="%d/%m/%Y", errors="coerce")
    return dates.where(dates <= extract_date)


def coded(values: pd.Series, code_list: str) -> pd.Series:
    """The category of a recorded label, 'Invalid' for a label in no list, None blank."""
    category = label_key(values).map(code_lists()[code_list])
    return category.where(values.isna() | category.notna(), "Invalid")


def month_of(dates: pd.Series) -> pd.Series:
    return dates.dt.to_period("M").dt.to_timestamp()


def whole_years(born: pd.Series, on: pd.Series) -> pd.Series:
    before_birthday = (on.dt.month < born.dt.month) | (
        (on.dt.month == born.dt.month) & (on.dt.day < born.dt.day)
    )
    return on.dt.year - born.dt.year - before_birthday.astype(int)


def age_band(ages: pd.Series) -> pd.Series:
    bands = categories()[
        (categories()["measure_id"] == "age_band") & categories()["band_lower"].notna()
    ]
    # lower bound included, upper not; each band's upper bound is the next one's lower
    return pd.cut(
        ages, bins=[*bands["band_lower"], np.inf], right=False, labels=bands["category"]
    ).astype(object)


@cache
def export(extract_date: str) -> dict[str, pd.DataFrame]:
    """One export's clients (with their groups and data capture), goals and WHO-5 pairs."""
    folder = EXPORTS / extract_date
    extract = pd.Timestamp(extract_date)
    clients = read_csv(folder / "clients.csv")
    goals = read_csv(folder / "goals.csv")
    scores = read_csv(folder / "wellbeing_scores.csv")
    trainers = read_csv(folder / "health_trainers.csv")

    clients["registration_date"] = uk_date(clients["registration_date"], extract)
    clients["month"] = month_of(clients["registration_date"])
    clients["assessed_on"] = uk_date(clients["initial_assessment_date"], extract)
    known_trainer = clients["health_trainer_id"].isin(trainers["health_trainer_id"])
    clients["health_trainer"] = np.select(
        [clients["health_trainer_id"].isna(), ~known_trainer],
        ["Not recorded", "Invalid"],
        clients["health_trainer_id"],
    )
    for field in [
        "gender",
        "ethnicity",
        "disability",
        "deprivation_quintile",
        "how_heard",
        "referral_source",
        "eligible",
        "primary_health_issue",
        "signposted_to",
    ]:
        clients[f"{field}_category"] = coded(clients[field], field)
    born = pd.to_datetime(clients["date_of_birth"], format="%d/%m/%Y", errors="coerce")
    age = whole_years(born, clients["registration_date"])
    dob_valid = born.notna() & (born <= extract) & (born <= clients["registration_date"])
    dob_valid &= age <= 120
    declined = clients["date_of_birth"].str.lower() == "declined"
    bmi = pd.to_numeric(clients["bmi"], errors="coerce")
    ward = clients["ward"]
    clients["is_eligible"] = clients["eligible_category"] == "Eligible"

    # groups of the inequality dimensions
    clients["deprivation_quintile_group"] = clients["deprivation_quintile_category"].fillna(
        "Unknown / not recognised"
    )
    ethnic = ethnic_groups().set_index("ethnicity")["ethnic_group"]
    clients["ethnic_group_group"] = clients["ethnicity_category"].fillna("Not recorded").map(ethnic)
    clients["age_band_group"] = np.select(
        [declined, clients["date_of_birth"].isna(), ~dob_valid],
        ["Declined", "Not recorded", "Invalid"],
        age_band(age.where(dob_valid)),
    )
    for dimension in ["gender", "disability"]:
        clients[f"{dimension}_group"] = clients[f"{dimension}_category"].fillna("Not recorded")

    # data capture: recorded and valid ('Declined' and 'Not stated' are answers)
    capture = pd.DataFrame(index=clients.index)
    capture["health_trainer_id"] = clients["health_trainer_id"].notna() & known_trainer
    for field in [
        "gender",
        "ethnicity",
        "disability",
        "deprivation_quintile",
        "how_heard",
        "referral_source",
        "eligible",
        "signposted_to",
        "primary_health_issue",
    ]:
        category = clients[f"{field}_category"]
        capture[field] = category.notna() & (category != "Invalid")
    capture["date_of_birth"] = dob_valid | declined
    postcode = clients["postcode"].str.upper().str.replace(r"\s", "", regex=True)
    capture["postcode"] = postcode.str.fullmatch(POSTCODE.pattern).fillna(False).astype(bool)
    # S001 has no ward list (seeds/service_wards.csv): any name without digits
    capture["ward"] = ward.notna() & ~ward.fillna("").str.contains(r"\d", regex=True)
    capture["referral_source_other"] = clients["referral_source_other"].notna()
    capture["initial_assessment_date"] = clients["assessed_on"].notna()
    capture["bmi"] = bmi.between(12, 90)
    in_population = pd.DataFrame(True, index=clients.index, columns=capture.columns)
    in_population["referral_source_other"] = clients["referral_source_category"] == "Other"
    for field in ["initial_assessment_date", "primary_health_issue", "bmi"]:
        in_population[field] = clients["is_eligible"]

    goals["set_on"] = uk_date(goals["goal_set_date"], extract)
    goals["outcome_on"] = uk_date(goals["outcome_date"], extract)
    goals["outcome_category"] = coded(goals["outcome"], "outcome")

    who5 = scores[scores["instrument"].str.lower() == "who5"].assign(
        score=lambda frame: pd.to_numeric(frame["score"], errors="coerce")
    )
    pairs = who5.pivot_table(index="client_id", columns="stage", values="score", aggfunc="max")
    pairs = pairs.dropna(subset=["baseline", "follow_up"])
    pairs = pairs[pairs["baseline"].between(0, 25) & pairs["follow_up"].between(0, 25)]

    return {
        "extract_date": extract,
        "clients": clients,
        "capture": capture,
        "in_population": in_population,
        "goals": goals,
        "scores": scores.assign(recorded_on=uk_date(scores["recorded_date"], extract)),
        "who5_pairs": pairs,
    }


EXPORTS: Path  # set by the module fixture below


@pytest.fixture(scope="module")
def warehouse(monitoring_warehouse: Path) -> Path:
    global EXPORTS
    EXPORTS = monitoring_warehouse.parent / "inbox" / SERVICE
    export.cache_clear()
    return monitoring_warehouse


@pytest.fixture(scope="module")
def extract_dates(warehouse: Path) -> list[str]:
    dates = sorted(path.name for path in EXPORTS.iterdir())
    assert len(dates) == EXTRACTS
    return dates


def mart(warehouse: Path, table: str) -> pd.DataFrame:
    with connect(warehouse) as con:
        frame = con.execute(f"select * from marts.{table}").df()
    frame["extract_date"] = pd.to_datetime(frame["extract_date"]).dt.strftime("%Y-%m-%d")
    return frame


def nulls_marked(values: pd.Series) -> np.ndarray:
    """Values as objects, every kind of null (None, NaN, pd.NA) the same marker."""
    return np.where(values.notna().to_numpy(), values.to_numpy(dtype=object), "<null>")


def assert_same(expected: pd.DataFrame, actual: pd.DataFrame, keys: list[str]) -> None:
    """The same rows (by their keys) and, column by column, the same values: integers and
    text exactly, floats to TOLERANCE, nulls in the same places."""
    expected = expected.set_index(keys).sort_index()
    actual = actual.set_index(keys).sort_index()[expected.columns]
    assert expected.index.equals(actual.index), (
        f"rows only here: {list(expected.index.difference(actual.index))[:5]}, "
        f"only in the mart: {list(actual.index.difference(expected.index))[:5]}"
    )
    for column in expected.columns:
        mine, theirs = expected[column], actual[column]
        if pd.api.types.is_float_dtype(mine) or pd.api.types.is_float_dtype(theirs):
            mine, theirs = mine.astype(float).to_numpy(), theirs.astype(float).to_numpy()
            same = np.isclose(mine, theirs, rtol=TOLERANCE, atol=TOLERANCE, equal_nan=True)
        else:
            same = nulls_marked(mine) == nulls_marked(theirs)
        differ = ~np.asarray(same, dtype=bool)
        assert not differ.any(), (
            f"{column}: {differ.sum()} of {len(same)} rows differ, e.g. "
            f"{expected.index[differ][:3].tolist()}: "
            f"{np.asarray(mine)[differ][:3].tolist()} here, "
            f"{np.asarray(theirs)[differ][:3].tolist()} in the mart"
        )


def wilson(n: np.ndarray, d: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval in percent (textbook form); null where d is 0."""
    n, d = np.asarray(n, dtype=float), np.asarray(d, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = n / d
        centre = p + z**2 / (2 * d)
        half = z * np.sqrt(p * (1 - p) / d + z**2 / (4 * d**2))
        scale = 1 + z**2 / d
        lower, upper = 100 * (centre - half) / scale, 100 * (centre + half) / scale
    lower = np.where(n == 0, 0.0, np.clip(lower, 0, 100))
    upper = np.where(n == d, 100.0, np.clip(upper, 0, 100))
    return np.where(d > 0, lower, np.nan), np.where(d > 0, upper, np.nan)


# ------------------------------------------------------------------------------------------
# monthly_activity
# ------------------------------------------------------------------------------------------


def monthly_activity(extract_date: str) -> pd.DataFrame:
    data = export(extract_date)
    clients, goals, scores = data["clients"], data["goals"], data["scores"]
    outcomes = goals[goals["outcome_category"].isin(OUTCOMES) & goals["outcome_on"].notna()]
    follow_ups = scores[(scores["stage"].str.lower() == "follow_up")].dropna(subset=["recorded_on"])
    events = {
        "clients_registered": month_of(clients["registration_date"]),
        "clients_assessed": month_of(clients["assessed_on"].dropna()),
        "phps_started": month_of(goals.groupby("client_id")["set_on"].min().dropna()),
        "goals_set": month_of(goals["set_on"].dropna()),
        "goal_outcomes_recorded": month_of(outcomes["outcome_on"]),
        "goals_achieved_or_part_achieved": month_of(
            outcomes.loc[outcomes["outcome_category"].isin(ACHIEVED), "outcome_on"]
        ),
        "wellbeing_follow_ups_recorded": month_of(
            follow_ups.assign(month=month_of(follow_ups["recorded_on"])).drop_duplicates(
                ["client_id", "month"]
            )["month"]
        ),
    }
    first = min(months.min() for months in events.values() if len(months))
    calendar = pd.date_range(first, data["extract_date"].to_period("M").to_timestamp(), freq="MS")
    frame = pd.DataFrame(
        {
            name: months.value_counts().reindex(calendar, fill_value=0)
            for name, months in events.items()
        }
    )
    frame.index.name = "month"
    return frame.reset_index().assign(extract_date=extract_date)


def test_monthly_activity_counts_every_month_of_every_extract(warehouse, extract_dates):
    expected = pd.concat([monthly_activity(date) for date in extract_dates])
    actual = mart(warehouse, "monthly_activity")
    assert set(actual["service_code"]) == {SERVICE}
    actual["month"] = pd.to_datetime(actual["month"])
    # extract k covers k months: 1 + 2 + ... + 13 rows
    assert len(actual) == EXTRACTS * (EXTRACTS + 1) // 2
    assert_same(expected, actual.drop(columns="service_code"), ["extract_date", "month"])


# ------------------------------------------------------------------------------------------
# spc: an XmR chart from NHSRplotthedots' definition
# ------------------------------------------------------------------------------------------


def spc_points(extract_date: str) -> pd.DataFrame:
    """The value of every indicator in every month of marts.monthly_activity's calendar."""
    data = export(extract_date)
    activity = monthly_activity(extract_date).set_index("month")
    values = {
        "clients_registered": activity["clients_registered"].astype(float),
        "phps_started": activity["phps_started"].astype(float),
        "goals_achieved_percent": 100
        * activity["goals_achieved_or_part_achieved"]
        / activity["goal_outcomes_recorded"].replace(0, np.nan),
    }
    clients, capture, in_population = data["clients"], data["capture"], data["in_population"]
    for field in PEOPLE_FIELDS:
        units = (
            capture.loc[in_population[field], field].groupby(clients["month"]).agg(["sum", "count"])
        )
        values[f"capture_{field}"] = 100 * units["sum"] / units["count"]
    goals = data["goals"].merge(clients[["client_id", "month"]], on="client_id")
    units = goals["set_on"].notna().groupby(goals["month"]).agg(["sum", "count"])
    values["capture_goal_set_date"] = 100 * units["sum"] / units["count"]
    frame = pd.DataFrame({name: series.reindex(activity.index) for name, series in values.items()})
    frame.index.name = "month"
    return frame


def part_of_run(run_ends: np.ndarray) -> np.ndarray:
    """Every point of a run of RUN points, from the points where such runs end."""
    padded = np.concatenate([run_ends, np.zeros(RUN - 1, dtype=bool)])
    return sliding_window_view(padded, RUN).any(axis=1)


def xmr(values: np.ndarray) -> dict[str, object]:
    """NHSRplotthedots' ptd_spc defaults for one chart (values in month order, nulls out)."""
    y = np.asarray(values, dtype=float)
    n = len(y)
    mean = y.mean()
    moving_ranges = np.abs(np.diff(y))
    average = np.nan
    if len(moving_ranges):
        kept = moving_ranges[moving_ranges < SCREEN * moving_ranges.mean()]
        average = kept.mean() if len(kept) else np.nan
    upper, lower = mean + LIMIT * average, mean - LIMIT * average
    near_upper, near_lower = mean + 2 * (LIMIT / 3) * average, mean - 2 * (LIMIT / 3) * average
    outside = (y > upper) | (y < lower)  # False against NaN limits
    side = np.sign(y - mean)
    close = ~outside & ((y < near_lower) | (y > near_upper))

    # 7 points each higher (or each lower) than the one before: the run ends at its 7th
    steps = np.sign(np.diff(y))
    trend_end = np.zeros(n, dtype=bool)
    if n >= RUN:
        windows = sliding_window_view(steps, RUN - 1)
        trend_end[RUN - 1 :] = (windows == 1).all(axis=1) | (windows == -1).all(axis=1)
    in_trend = part_of_run(trend_end)
    # two of three consecutive points close to a limit, all three on one side of the mean
    in_two_in_three = np.zeros(n, dtype=bool)
    if n >= 3:
        qualifies = (sliding_window_view(close, 3).sum(axis=1) >= 2) & (
            np.abs(sliding_window_view(side, 3).sum(axis=1)) == 3
        )
        for offset in range(3):
            in_two_in_three[offset : n - 2 + offset] |= qualifies
    in_two_in_three &= close
    # 7 points on the same side of the mean (a point on it breaks the run)
    shift_end = np.zeros(n, dtype=bool)
    if n >= RUN:
        windows = sliding_window_view(side, RUN)
        shift_end[RUN - 1 :] = (windows == windows[:, [-1]]).all(axis=1) & (windows[:, -1] != 0)
    in_shift = part_of_run(shift_end)
    # a trend point's direction: its step to the next point when that one is in the trend
    # too, else its step from the previous one (a step that is not up counts as down)
    step_from = np.concatenate([[0], steps])
    step_to = np.concatenate([steps, [0]])
    next_in_trend = np.concatenate([in_trend[1:], [False]])
    trend_step = np.where(in_trend & next_in_trend, step_to, step_from)
    above = np.where(side > 0, 1, -1)
    rules = np.select(
        [outside, in_trend, in_two_in_three, in_shift],
        ["outside_limits", "trend", "two_in_three", "shift"],
        None,
    )
    directions = np.select(
        [outside, in_trend, in_two_in_three | in_shift],
        [np.where(side == 1, 1, -1), np.where(trend_step == 1, 1, -1), above],
        0,
    )
    return {
        "mean": mean,
        "lower": lower,
        "upper": upper,
        "rules": rules,
        "directions": directions,
    }


def spc_chart(month_values: pd.Series, direction: str, target: float | None) -> pd.DataFrame:
    """marts.spc's rows of one chart (every month, null values included)."""
    sign = {"increase": 1, "decrease": -1, "neutral": 0}[direction]
    points = month_values.dropna()
    if points.empty:  # no chart: no limits, no icon; a target compared with none
        return pd.DataFrame(index=month_values.index).assign(
            special_cause=None,
            rule=None,
            point_type=None,
            value=month_values,
            mean=np.nan,
            lower_process_limit=np.nan,
            upper_process_limit=np.nan,
            variation_icon=None,
            assurance_icon=None if target is None else "inconsistent",
            chart_points=0,
            is_short=True,
        )
    chart = xmr(points.to_numpy())
    oriented = chart["directions"] * sign
    if sign == 0:
        point_type = np.where(
            chart["directions"] > 0,
            "special_cause_neutral_high",
            np.where(chart["directions"] < 0, "special_cause_neutral_low", "common_cause"),
        )
        special_cause = np.where(chart["directions"] != 0, "neither", None)
    else:
        point_type = np.where(
            oriented > 0,
            "special_cause_improvement",
            np.where(oriented < 0, "special_cause_concern", "common_cause"),
        )
        special_cause = np.where(
            oriented > 0, "improvement", np.where(oriented < 0, "concern", None)
        )
    high, low = ("high", "low") if direction == "increase" else ("low", "high")
    variation_icon = {
        "common_cause": "common_cause",
        "special_cause_neutral_high": "neutral_high",
        "special_cause_neutral_low": "neutral_low",
        "special_cause_concern": f"concern_{low}",
        "special_cause_improvement": f"improvement_{high}",
    }[point_type[-1]]
    if target is None or sign == 0:
        assurance_icon = None
    elif target > chart["upper"]:
        assurance_icon = "fail" if sign == 1 else "pass"
    elif target < chart["lower"]:
        assurance_icon = "pass" if sign == 1 else "fail"
    else:
        assurance_icon = "inconsistent"
    per_point = pd.DataFrame(
        {"special_cause": special_cause, "rule": chart["rules"], "point_type": point_type},
        index=points.index,
    ).reindex(month_values.index)
    return per_point.assign(
        value=month_values,
        mean=chart["mean"],
        lower_process_limit=chart["lower"],
        upper_process_limit=chart["upper"],
        variation_icon=variation_icon,
        assurance_icon=assurance_icon,
        chart_points=len(points),
        is_short=len(points) < SHORT_CHART,
    )


def spc(extract_date: str) -> pd.DataFrame:
    indicators = pd.read_csv(SEEDS / "spc_indicators.csv")
    points = spc_points(extract_date)
    charts = []
    for indicator in indicators.itertuples():
        # S001 has no client target (seeds/service_targets.csv); data capture's is 95%
        target = capture_threshold() if indicator.target_from == "data_capture_threshold" else None
        chart = spc_chart(points[indicator.indicator_id], indicator.improvement_direction, target)
        charts.append(chart.reset_index().assign(indicator_id=indicator.indicator_id))
    return pd.concat(charts).assign(extract_date=extract_date)


def test_spc_charts_are_nhsrplotthedots_xmr_charts(warehouse, extract_dates):
    expected = pd.concat([spc(date) for date in extract_dates])
    actual = mart(warehouse, "spc")
    actual["month"] = pd.to_datetime(actual["month"])
    actual["is_short"] = actual["warning"].notna()
    assert len(actual) == 20 * EXTRACTS * (EXTRACTS + 1) // 2
    assert_same(expected, actual, ["extract_date", "indicator_id", "month"])
    # the last extract's charts have 13 points: no warning, and some special causes
    last = actual[actual["extract_date"] == extract_dates[-1]]
    assert not last["is_short"].any()
    assert last["rule"].notna().any()


# ------------------------------------------------------------------------------------------
# inequalities and the slope index of inequality
# ------------------------------------------------------------------------------------------


def inequality_units(extract_date: str) -> pd.DataFrame:
    """One row per unit of each indicator: its client and whether it counts."""
    data = export(extract_date)
    clients, goals, pairs = data["clients"], data["goals"], data["who5_pairs"]
    eligible = clients[clients["is_eligible"]]
    outcomes = goals[goals["outcome_category"].isin(OUTCOMES)]
    return pd.concat(
        [
            pd.DataFrame(
                {"indicator_id": "reach", "client_id": clients["client_id"], "is_counted": True}
            ),
            pd.DataFrame(
                {
                    "indicator_id": "php_started",
                    "client_id": eligible["client_id"],
                    "is_counted": eligible["client_id"].isin(goals["client_id"]),
                }
            ),
            pd.DataFrame(
                {
                    "indicator_id": "goal_achieved_or_part",
                    "client_id": outcomes["client_id"],
                    "is_counted": outcomes["outcome_category"].isin(ACHIEVED),
                }
            ),
            pd.DataFrame(
                {
                    "indicator_id": "wellbeing_improved",
                    "client_id": pairs.index,
                    "is_counted": pairs["follow_up"] > pairs["baseline"],
                }
            ),
        ],
        ignore_index=True,
    )


def inequalities(extract_date: str) -> pd.DataFrame:
    clients = export(extract_date)["clients"]
    units = inequality_units(extract_date)
    z_95, _ = z_values()
    rows = []
    for dimension in DIMENSIONS:
        grouped = units.merge(clients[["client_id", f"{dimension}_group"]], on="client_id").rename(
            columns={f"{dimension}_group": "group_name"}
        )
        counts = grouped.groupby(["indicator_id", "group_name"])["is_counted"].agg(
            n="sum", units="count"
        )
        for indicator_id in units["indicator_id"].unique():
            frame = group_list(dimension).assign(indicator_id=indicator_id, dimension=dimension)
            found = counts.loc[indicator_id] if indicator_id in counts.index else None
            frame["n"] = frame["group_name"].map(found["n"] if found is not None else {})
            frame["units"] = frame["group_name"].map(found["units"] if found is not None else {})
            frame[["n", "units"]] = frame[["n", "units"]].fillna(0).astype(int)
            if indicator_id == "reach":
                total = frame.loc[~frame["excluded"], "n"].sum()
                frame["denominator"] = np.where(frame["excluded"], np.nan, total)
            else:
                frame["denominator"] = frame["units"].astype(float)
            rows.append(frame)
    frame = pd.concat(rows, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["percent"] = np.where(
            frame["denominator"] > 0, 100 * frame["n"] / frame["denominator"], np.nan
        )
    frame["ci_lower"], frame["ci_upper"] = wilson(frame["n"], frame["denominator"], z_95)
    frame["denominator"] = frame["denominator"].astype("Int64")
    return frame.assign(extract_date=extract_date)[
        [
            "extract_date",
            "indicator_id",
            "dimension",
            "group_name",
            "n",
            "denominator",
            "percent",
            "ci_lower",
            "ci_upper",
            "is_comparable",
        ]
    ]


def test_inequalities_are_counted_and_intervals_are_wilson(warehouse, extract_dates):
    expected = pd.concat([inequalities(date) for date in extract_dates])
    actual = mart(warehouse, "inequalities")
    assert_same(expected, actual, ["extract_date", "indicator_id", "dimension", "group_name"])


def test_every_client_of_the_last_export_is_counted_once_in_each_dimension(
    warehouse, extract_dates
):
    clients = read_csv(EXPORTS / extract_dates[-1] / "clients.csv")
    assert clients["client_id"].is_unique
    actual = mart(warehouse, "inequalities")
    reach = actual[
        (actual["extract_date"] == extract_dates[-1]) & (actual["indicator_id"] == "reach")
    ]
    totals = reach.groupby("dimension")["n"].sum()
    assert totals.to_dict() == dict.fromkeys(DIMENSIONS, len(clients))


def logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def slope_index(n: np.ndarray, d: np.ndarray, draws: int, rng: np.random.Generator) -> dict:
    """PHE's SII and RII of a proportion on the logit scale (phe_sii, value_type 2,
    transform TRUE, multiplier 100), as docs/statistics.md describes them: a weighted
    least-squares line through each quintile's logit at the midpoint of its cumulative
    population share, weights the shares; the interval from draws of each quintile's
    logit (standard error from its 95% Wilson limits) at PHE's positions, through the
    line's midpoint."""
    z_95, _ = z_values()
    share = d / d.sum()
    midpoint = np.cumsum(share) - share / 2
    y = logit(n / d)
    slope, intercept = np.polyfit(midpoint, y, 1, w=np.sqrt(share))
    lower, upper = wilson(n, d, z_95)
    standard_error = (logit(upper / 100) - logit(lower / 100)) / z_95 / 2
    simulated = rng.normal(y, standard_error, size=(draws, len(n)))
    centred = midpoint - np.average(midpoint, weights=share)
    slopes = np.sort((simulated * share * centred).sum(axis=1) / (share * centred**2).sum())
    limits = slopes[[round(draws * 0.025) - 1, round(draws * 0.975) - 1]]
    half_way = intercept + slope / 2
    ends = [(expit(half_way + limit / 2), expit(half_way - limit / 2)) for limit in limits]
    return {
        "sii": 100 * (expit(intercept + slope) - expit(intercept)),
        "rii": expit(intercept + slope) / expit(intercept),
        "sii_lower": 100 * (ends[0][0] - ends[0][1]),
        "sii_upper": 100 * (ends[1][0] - ends[1][1]),
    }


def test_inequality_indices_are_phe_slope_indices(warehouse, extract_dates):
    actual = mart(warehouse, "inequality_indices").set_index(["extract_date", "indicator_id"])
    assert len(actual) == 4 * EXTRACTS
    rng = np.random.default_rng(18)
    computed = 0
    for date in extract_dates:
        rows = inequalities(date)
        quintiles = rows[(rows["dimension"] == "deprivation_quintile") & rows["is_comparable"]]
        for indicator_id, group in quintiles.groupby("indicator_id"):
            index = actual.loc[(date, indicator_id)]
            n = group["n"].to_numpy(dtype=float)
            d = group["denominator"].to_numpy(dtype=float)
            records = n if indicator_id == "reach" else d
            assert (index["records"], index["smallest_quintile_records"]) == (
                records.sum(),
                records.min(),
            )
            if indicator_id == "reach":
                assert index["withheld_reason"].startswith("reach is a share")
            elif records.min() < 10:
                assert index["withheld_reason"].startswith("a deprivation quintile has fewer")
            elif ((n == 0) | (n == d)).any():
                assert index["withheld_reason"].endswith("its logit is not finite")
            else:
                assert pd.isna(index["withheld_reason"])
                mine = slope_index(n, d, 100_000, rng)
                assert index["sii"] == pytest.approx(mine["sii"], rel=TOLERANCE, abs=TOLERANCE)
                assert index["rii"] == pytest.approx(mine["rii"], rel=TOLERANCE)
                # two simulations of 100,000 draws: within 5% of the interval's width
                width = mine["sii_upper"] - mine["sii_lower"]
                assert index["sii_lower"] == pytest.approx(mine["sii_lower"], abs=0.05 * width)
                assert index["sii_upper"] == pytest.approx(mine["sii_upper"], abs=0.05 * width)
                computed += 1
                continue
            assert index[["sii", "sii_lower", "sii_upper", "rii"]].isna().all()
    # the generated service has enough clients in every quintile for some indices
    assert computed > 0


# ------------------------------------------------------------------------------------------
# funnel plots
# ------------------------------------------------------------------------------------------


def funnel_limit(denominator: np.ndarray, average: np.ndarray, z: float, side: str):
    """PHE's funnel limit for a proportion, in percent: the proportion p at which a unit
    of this denominator has its Wilson interval's far end just on the average (its lower
    end for the upper limit, its upper end for the lower), found by bisection (the far
    end rises with p); where no p in 0-1 reaches it, the limit is the axis (0 or 100)."""
    denominator = np.asarray(denominator, dtype=float)
    average = np.asarray(average, dtype=float)

    def far_end(p: np.ndarray) -> np.ndarray:
        lower, upper = wilson(p * denominator, denominator, z)
        return (lower if side == "high" else upper) / 100 - average

    low = np.where(side == "high", average, 0.0)
    high = np.where(side == "high", 1.0, average)
    for _ in range(200):
        middle = (low + high) / 2
        below = far_end(middle) < 0
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    limit = 100 * (low + high) / 2
    if side == "high":
        return np.where(far_end(np.ones_like(average)) < 0, 100.0, limit)
    return np.where(far_end(np.zeros_like(average)) > 0, 0.0, limit)


def significance(n: np.ndarray, d: np.ndarray, average: np.ndarray) -> np.ndarray:
    """PHE's assign_funnel_significance: a percent beyond a limit is a unit whose own
    Wilson interval does not reach the average."""
    z_95, z_998 = z_values()
    lower_95, upper_95 = wilson(n, d, z_95)
    lower_998, upper_998 = wilson(n, d, z_998)
    return np.select(
        [
            upper_998 / 100 < average,
            upper_95 / 100 < average,
            lower_998 / 100 > average,
            lower_95 / 100 > average,
        ],
        ["Low (0.001)", "Low (0.025)", "High (0.001)", "High (0.025)"],
        "Not significant",
    )


def with_funnel(counts: pd.DataFrame, keys: list[str], unit: str) -> pd.DataFrame:
    z_95, z_998 = z_values()
    frame = counts.copy()
    totals = frame.groupby(keys)[["n", "denominator"]].transform("sum")
    average = totals["n"] / totals["denominator"]
    frame["percent"] = 100 * frame["n"] / frame["denominator"]
    frame["centre_percent"] = 100 * average
    for column, z, side in [
        ("lower_95", z_95, "low"),
        ("upper_95", z_95, "high"),
        ("lower_998", z_998, "low"),
        ("upper_998", z_998, "high"),
    ]:
        frame[column] = funnel_limit(frame["denominator"], average, z, side)
    known = ~frame[unit].isin(["Not recorded", "Invalid"])
    frame["significance"] = np.where(
        known, significance(frame["n"], frame["denominator"], average), None
    )
    return frame


def capture_units(data: dict) -> pd.DataFrame:
    """One row per client field in its population: field, client_id, is_captured."""
    capture = data["capture"].stack()
    in_population = data["in_population"].stack().to_numpy(dtype=bool)
    capture = capture[in_population]
    return pd.DataFrame(
        {
            "field": capture.index.get_level_values(1),
            "client_id": data["clients"]
            .loc[capture.index.get_level_values(0), "client_id"]
            .to_numpy(),
            "is_captured": capture.to_numpy(dtype=bool),
        }
    )


def trainer_counts(extract_date: str) -> pd.DataFrame:
    data = export(extract_date)
    clients = data["clients"]
    units = inequality_units(extract_date)
    units = units[units["indicator_id"].isin(["goal_achieved_or_part", "php_started"])]
    captured = capture_units(data)
    capture = pd.DataFrame(
        {
            "indicator_id": "data_capture",
            "client_id": captured["client_id"],
            "is_counted": captured["is_captured"],
        }
    )
    goals = data["goals"]
    goal_capture = pd.DataFrame(
        {
            "indicator_id": "data_capture",
            "client_id": goals["client_id"],
            "is_counted": goals["set_on"].notna(),
        }
    )
    units = pd.concat([units, capture, goal_capture]).merge(
        clients[["client_id", "health_trainer"]], on="client_id"
    )
    counts = units.groupby(["indicator_id", "health_trainer"])["is_counted"].agg(
        n="sum", denominator="count"
    )
    return (
        counts.reset_index()
        .rename(columns={"health_trainer": "health_trainer_id"})
        .assign(extract_date=extract_date)
    )


def test_funnel_trainers_have_phe_limits(warehouse, extract_dates):
    expected = with_funnel(
        pd.concat([trainer_counts(date) for date in extract_dates], ignore_index=True),
        ["extract_date", "indicator_id"],
        "health_trainer_id",
    )
    actual = mart(warehouse, "funnel_trainers")
    assert_same(expected, actual, ["extract_date", "indicator_id", "health_trainer_id"])
    # with about 30 trainers, some fall outside a limit
    assert (actual["significance"] != "Not significant").any()


def test_funnel_services_have_phe_limits_at_the_latest_extract(warehouse, extract_dates):
    latest = trainer_counts(extract_dates[-1])
    services = (
        latest.groupby(["indicator_id", "extract_date"], as_index=False)[["n", "denominator"]]
        .sum()
        .assign(service_code=SERVICE)
    )
    expected = with_funnel(services, ["indicator_id"], "service_code")
    actual = mart(warehouse, "funnel_services")
    # one service: it is its own centre line
    assert (expected["significance"] == "Not significant").all()
    assert_same(expected, actual, ["indicator_id", "service_code", "extract_date"])


# ------------------------------------------------------------------------------------------
# data capture by group
# ------------------------------------------------------------------------------------------


def data_capture_by_group(extract_date: str) -> pd.DataFrame:
    data = export(extract_date)
    clients = data["clients"]
    units = capture_units(data)
    goals = data["goals"]
    units = pd.concat(
        [
            units,
            pd.DataFrame(
                {
                    "field": "goal_set_date",
                    "client_id": goals["client_id"],
                    "is_captured": goals["set_on"].notna(),
                }
            ),
        ]
    )
    clients = clients.rename(columns={"health_trainer": "health_trainer_group"})
    z_95, _ = z_values()
    rows = []
    for dimension in ["health_trainer", *DIMENSIONS]:
        grouped = units.merge(clients[["client_id", f"{dimension}_group"]], on="client_id")
        counts = grouped.groupby(["field", f"{dimension}_group"])["is_captured"].agg(
            recorded="sum", total="count"
        )
        counts.index.names = ["field", "group_name"]
        rows.append(counts.reset_index().assign(dimension=dimension))
    frame = pd.concat(rows, ignore_index=True)
    frame["percent"] = 100 * frame["recorded"] / frame["total"]
    frame["ci_lower"], frame["ci_upper"] = wilson(frame["recorded"], frame["total"], z_95)
    frame["rank_in_field"] = (
        frame.groupby(["field", "dimension"])["percent"].rank(method="min").astype(int)
    )
    return frame.assign(extract_date=extract_date)


def test_data_capture_by_group_counts_recorded_of_total(warehouse, extract_dates):
    expected = pd.concat([data_capture_by_group(date) for date in extract_dates])
    actual = mart(warehouse, "data_capture_by_group")
    assert_same(expected, actual, ["extract_date", "field", "dimension", "group_name"])


# ------------------------------------------------------------------------------------------
# every extract in every mart, and the last run's report
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table",
    [
        "monthly_activity",
        "spc",
        "inequalities",
        "inequality_indices",
        "funnel_trainers",
        "data_capture_by_group",
    ],
)
def test_every_extract_is_in_the_mart(warehouse, extract_dates, table):
    assert sorted(set(mart(warehouse, table)["extract_date"])) == extract_dates


def test_funnel_services_holds_the_latest_extract(warehouse, extract_dates):
    """funnel_services is rebuilt by every run from each service's latest extract."""
    assert set(mart(warehouse, "funnel_services")["extract_date"]) == {extract_dates[-1]}


def test_the_last_runs_report_names_the_service(warehouse, extract_dates):
    report = outputs_of(warehouse) / "report.html"
    assert report.exists()
    html = report.read_text(encoding="utf-8")
    assert "Synthetic Health Trainer Service 1" in html
