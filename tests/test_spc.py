"""marts.spc against NHSRplotthedots' own fixtures, and marts.monthly_activity against an
independent count of the sample's rows.

The SPC model's SQL (compiled by dbt) runs in DuckDB over a fixture table standing in for
its one input, ``int_spc_points``. The series are those of NHSRplotthedots' tests
(tests/testthat, version 0.2.2): R's ``set.seed(123); rnorm(...)``, which ``RNormal``
reproduces exactly (R's Mersenne-Twister seeding and its inversion method; the first
values match the package's snapshot to the printed 8 digits). Expected means, limits,
point types and icons are the package's snapshots and test expectations.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import connect, run_dbt
from scipy.stats import norm

WARNING = (
    "Some groups have 'n < 12' observations. These have trial limits, which will be "
    "revised with each additional observation until 'n = fix_after_n_points' has been "
    "reached."
)


class RNormal:
    """R's default generator after ``set.seed(seed)``: Mersenne-Twister seeded as R seeds
    it (src/main/RNG.c: 50 scrambling steps of an LCG, then 625 more words, the first of
    which is the position), normals by inversion from two uniforms (``norm_rand``)."""

    def __init__(self, seed: int) -> None:
        word = seed
        for _ in range(50):
            word = (69069 * word + 1) & 0xFFFFFFFF
        words = []
        for _ in range(625):
            word = (69069 * word + 1) & 0xFFFFFFFF
            words.append(word)
        self.generator = np.random.MT19937()
        self.generator.state = {
            "bit_generator": "MT19937",
            "state": {"key": np.array(words[1:], dtype=np.uint32), "pos": 624},
        }

    def uniform(self) -> float:
        value = int(self.generator.random_raw()) * 2.3283064365386963e-10
        return min(max(value, 0.5 * 2.328306437080797e-10), 1 - 0.5 * 2.328306437080797e-10)

    def rnorm(self, count: int, mean: float = 0.0) -> list[float]:
        big = 134217728
        values = []
        for _ in range(count):
            u = int(big * self.uniform()) + self.uniform()
            values.append(mean + float(norm.ppf(u / big)))
        return values


@pytest.fixture(scope="module")
def spc_sql(empty_build: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """marts.spc's SQL as dbt compiles it."""
    work = tmp_path_factory.mktemp("spc_compile")
    result = run_dbt(empty_build, work, "compile", "--select", "spc")
    assert result.returncode == 0, result.stdout + result.stderr
    return next((work / "target" / "compiled").rglob("marts/spc.sql")).read_text()


def chart(
    spc_sql: str,
    series: dict[str, list[float | None]],
    improvement_direction: str = "increase",
    target: float | None = None,
) -> pd.DataFrame:
    """marts.spc's rows for ``series`` (one chart per key, monthly points from January
    2020), fed to the compiled SQL as its input table."""
    rows = [
        (
            "XX",
            datetime.date(2022, 1, 31),
            indicator,
            order,
            datetime.date(2020 + month // 12, month % 12 + 1, 1),
            value,
            improvement_direction,
            target,
        )
        for order, (indicator, values) in enumerate(series.items(), start=1)
        for month, value in enumerate(values)
    ]
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as private")
        con.execute("create schema private.intermediate")
        con.execute(
            "create table private.intermediate.int_spc_points (service_code varchar, "
            "extract_date date, indicator_id varchar, indicator_order integer, month date, "
            "value double, improvement_direction varchar, target double)"
        )
        con.executemany(
            "insert into private.intermediate.int_spc_points values (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return con.execute(spc_sql).fetchdf()


def one_chart(frame: pd.DataFrame, indicator: str = "y") -> pd.DataFrame:
    return frame[frame.indicator_id == indicator].sort_values("month").reset_index(drop=True)


@pytest.mark.fast
def test_r_generator_reproduces_the_packages_series():
    """The first values of set.seed(123); rnorm(20), as the package's snapshot prints
    them (tests/testthat/_snaps/ptd_spc_standard.md)."""
    assert RNormal(123).rnorm(4) == pytest.approx(
        [-0.56047565, -0.23017749, 1.55870831, 0.07050839], abs=5e-9
    )


@pytest.mark.fast
def test_mean_and_limits_match_the_ptd_spc_standard_snapshot(spc_sql):
    """_snaps/ptd_spc_standard.md, r1: 20 points, mean 0.1416238, limits -3.01138 and
    3.294627, points on either side of the mean as printed; and summary(): all 20 common
    cause, so the variation icon is common cause."""
    values = RNormal(123).rnorm(20)
    result = one_chart(chart(spc_sql, {"y": values}))

    assert result["mean"].tolist() == pytest.approx([0.1416238] * 20, abs=5e-8)
    assert result.lower_process_limit[0] == pytest.approx(-3.01138, abs=5e-6)
    assert result.upper_process_limit[0] == pytest.approx(3.294627, abs=5e-7)
    sides = np.sign(result.value - result["mean"]).tolist()
    assert sides[:15] == [-1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]
    assert set(result.point_type) == {"common_cause"}
    assert result.special_cause.isna().all() and result["rule"].isna().all()
    assert set(result.variation_icon) == {"common_cause"}
    assert result.chart_points[0] == 20 and result.warning.isna().all()


@pytest.mark.fast
def test_an_outlying_moving_range_is_screened_out(spc_sql):
    """_snaps/ptd_spc_standard.md, r2: the same series with y[15] = 10. Its two moving
    ranges are 3.267 x the mean or more and leave the average: mean 0.6694159, limits
    -2.383666 and 3.722497; the point itself is above the upper limit."""
    values = RNormal(123).rnorm(20)
    values[14] = 10.0
    result = one_chart(chart(spc_sql, {"y": values}))

    assert result["mean"][0] == pytest.approx(0.6694159, abs=5e-8)
    assert result.lower_process_limit[0] == pytest.approx(-2.383666, abs=5e-7)
    assert result.upper_process_limit[0] == pytest.approx(3.722497, abs=5e-7)
    assert np.sign(result.value - result["mean"]).tolist()[:15] == [
        -1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, -1, -1, -1, 1,
    ]  # fmt: skip
    assert result["rule"][14] == "outside_limits"
    assert result.point_type[14] == "special_cause_improvement"


@pytest.mark.fast
def test_facets_are_charts_of_their_own(spc_sql):
    """_snaps/ptd_spc.md, summary with facet_field: the series split in two charts of 10:
    means 0.0746 and 0.209, limits -2.60 to 2.75 and -3.28 to 3.70, all common cause; and
    a chart of 10 points carries the package's warning."""
    values = RNormal(123).rnorm(20)
    result = chart(spc_sql, {"f0": values[:10], "f1": values[10:]})

    charts = result.groupby("indicator_id").first()
    printed = charts[["mean", "lower_process_limit", "upper_process_limit"]].map(
        lambda figure: float(f"{figure:.3g}")  # as the tibble prints them
    )
    assert printed.to_numpy().tolist() == [[0.0746, -2.60, 2.75], [0.209, -3.28, 3.70]]
    assert set(result.point_type) == {"common_cause"}
    assert set(result.warning) == {WARNING}


@pytest.mark.fast
@pytest.mark.parametrize(
    ("shifted_mean", "direction", "target", "variation_icon", "assurance_icon"),
    [
        (None, "increase", None, "common_cause", None),
        (None, "increase", 0.5, "common_cause", "inconsistent"),
        (5, "increase", -3, "improvement_high", "pass"),
        (5, "decrease", -3, "concern_high", "fail"),
        (-5, "increase", 3, "concern_low", "fail"),
        (-5, "decrease", 3, "improvement_low", "pass"),
        (-5, "neutral", 3, "neutral_low", None),
    ],
)
def test_icons_match_the_ptd_get_icons_tests(
    spc_sql, shifted_mean, direction, target, variation_icon, assurance_icon
):
    """test-geom_ptd_icon.R, "ptd_get_icons transforms the data correctly": 24 points of
    set.seed(123); rnorm(24), then the last 12 replaced by rnorm(12, 5) (s5, s6) and
    again by rnorm(12, -5) (s7 to s9), each with the package's target and direction."""
    generator = RNormal(123)
    values = generator.rnorm(24)
    raised = values[:12] + generator.rnorm(12, 5)
    lowered = values[:12] + generator.rnorm(12, -5)
    series = {None: values, 5: raised, -5: lowered}[shifted_mean]
    result = one_chart(chart(spc_sql, {"y": series}, direction, target))

    assert set(result.variation_icon) == {variation_icon}
    assert set(result.assurance_icon.replace({np.nan: None})) == {assurance_icon}


@pytest.mark.fast
def test_two_in_three_needs_the_same_side_of_the_mean(spc_sql):
    """test-ptd_spc_standard.R: alternating 1, -1 with the last two points 5.5 and -5.5,
    close to opposite limits: both common cause."""
    values = [1.0, -1.0] * 8
    values[14], values[15] = 5.5, -5.5
    result = one_chart(chart(spc_sql, {"y": values}))

    assert result.point_type.tolist()[-2:] == ["common_cause", "common_cause"]


@pytest.mark.fast
def test_runs_are_flagged_on_every_point(spc_sql):
    """The rules as R/ptd_calculate_point_type.R writes them (the package tests them on
    their helper functions, ptd_seven_point_trend and ptd_seven_point_one_side_mean): 7
    points each higher than the one before are a trend, every one flagged, 6 are not; 7
    points below the mean are a shift, 6 are not."""
    trend = [5.0, 3.0, 6.0, 4.0, 5.0, 3.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 4.0, 5.0]
    short_trend = trend[:6] + [2.0, 3.0, 4.0, 5.0, 6.0, 7.0] + trend[13:]
    shift = [5.0, 7.0, 4.0, 8.0, 5.0, 7.0, 3.0, 2.0, 3.0, 2.0, 3.0, 2.0, 3.0, 6.0, 8.0, 5.0, 7.0]
    short_shift = shift[:6] + shift[7:]
    result = chart(
        spc_sql,
        {"trend": trend, "short": short_trend, "shift": shift, "short_shift": short_shift},
        "decrease",
    )

    flagged = one_chart(result, "trend")
    assert flagged["rule"].tolist()[6:13] == ["trend"] * 7
    assert flagged.special_cause.tolist()[6:13] == ["concern"] * 7
    assert "trend" not in one_chart(result, "short")["rule"].tolist()
    shifted = one_chart(result, "shift")
    assert shifted["rule"].tolist()[6:13] == ["shift"] * 7
    assert shifted.special_cause.tolist()[6:13] == ["improvement"] * 7
    assert shifted["rule"].drop(range(6, 13)).isna().all()
    assert "shift" not in one_chart(result, "short_shift")["rule"].tolist()


@pytest.mark.fast
def test_short_chart_warning_follows_the_packages_default(spc_sql):
    """R/ptd_add_short_group_warnings.R: warning_threshold defaults to 13, so a chart of 12
    points warns and one of 13 does not. A month without a value is no point: 13 months
    with one missing make 12 points."""
    values = RNormal(123).rnorm(13)
    gap = values[:5] + [None] + values[6:]
    result = chart(spc_sql, {"twelve": values[:12], "thirteen": values, "gap": gap})

    warnings = result.groupby("indicator_id").warning.first().to_dict()
    assert warnings["twelve"] == WARNING
    assert warnings["gap"] == WARNING
    assert pd.isna(warnings["thirteen"])
    gap_chart = one_chart(result, "gap")
    assert gap_chart.chart_points[0] == 12
    assert pd.isna(gap_chart.point_type[5]) and not pd.isna(gap_chart["mean"][5])


@pytest.mark.fast
def test_a_constant_chart_has_no_limits_and_inconsistent_assurance(spc_sql):
    """Every moving range 0: none is below 3.267 x 0, so R's screened average is NaN,
    and so are its limits; every comparison with them is NA, which case_when passes
    over: all points common cause, assurance its default, `inconsistent`."""
    result = one_chart(chart(spc_sql, {"y": [100.0] * 13}, target=95))

    assert result.lower_process_limit.isna().all() and result.upper_process_limit.isna().all()
    assert set(result.point_type) == {"common_cause"}
    assert set(result.assurance_icon) == {"inconsistent"}


def months_of(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.to_period("M")


def test_monthly_activity_counts_the_extracts_rows_in_their_months(sample_warehouse):
    """Each month's counts, recounted with pandas from the extract's kept rows (the
    private store's validated clients, goals and scores), and their sums: every client
    registered is in one month (as many as service_summary counts), every client with a
    dated goal started one PHP. Months run from the first event to the extract's month,
    with zeros where nothing happened."""
    with connect(sample_warehouse) as con:
        activity = con.execute("select * from marts.monthly_activity").fetchdf()
        clients = con.execute("select * from intermediate.int_clients_validated").fetchdf()
        goals = con.execute("select * from intermediate.int_goals_validated").fetchdf()
        scores = con.execute("select * from intermediate.int_wellbeing_scores_validated").fetchdf()
        (clients_in_summary,) = con.execute(
            "select clients_registered from marts.service_summary"
        ).fetchone()

    dated_goals = goals[goals.goal_set_date.notna()]
    outcomes = goals[
        goals.outcome.isin(["Achieved", "Part Achieved", "Not Achieved"])
        & goals.outcome_date.notna()
    ]
    follow_ups = scores[(scores.stage == "follow_up") & scores.recorded_date.notna()]
    follow_up_months = (
        follow_ups.assign(month=months_of(follow_ups.recorded_date))
        .drop_duplicates(["client_id", "month"])
        .month
    )
    expected = pd.DataFrame(
        {
            "clients_registered": months_of(clients.registration_date).value_counts(),
            "clients_assessed": months_of(clients.initial_assessment_date.dropna()).value_counts(),
            "phps_started": months_of(
                dated_goals.groupby("client_id").goal_set_date.min()
            ).value_counts(),
            "goals_set": months_of(dated_goals.goal_set_date).value_counts(),
            "goal_outcomes_recorded": months_of(outcomes.outcome_date).value_counts(),
            "goals_achieved_or_part_achieved": months_of(
                outcomes[outcomes.outcome != "Not Achieved"].outcome_date
            ).value_counts(),
            "wellbeing_follow_ups_recorded": follow_up_months.value_counts(),
        }
    )
    extract_month = pd.Period(activity.extract_date[0], "M")
    calendar = pd.period_range(expected.index.min(), extract_month, freq="M")
    expected = expected.reindex(calendar).fillna(0).astype(int)
    actual = activity.set_index(months_of(activity.month)).sort_index()[expected.columns]

    assert actual.index.tolist() == calendar.tolist()
    pd.testing.assert_frame_equal(actual, expected, check_names=False, check_dtype=False)
    assert activity.clients_registered.sum() == len(clients) == clients_in_summary
    assert activity.phps_started.sum() == dated_goals.client_id.nunique()
    assert activity.goals_set.sum() == len(dated_goals)


def test_spc_charts_the_sample_by_month(query):
    """Every indicator of the seed has a row for every month of monthly_activity; new
    clients are charted against 500 a year (41.7 a month) and their values are
    monthly_activity's."""
    indicators = query("select count(*) from reference.spc_indicators")[0][0]
    months = query("select count(*) from marts.monthly_activity")[0][0]
    assert query("select count(*) from marts.spc")[0][0] == indicators * months
    rows = query(
        "select spc.value, activity.clients_registered, spc.target from marts.spc as spc "
        "inner join marts.monthly_activity as activity using (service_code, extract_date, "
        "month) where spc.indicator_id = 'clients_registered'"
    )
    assert len(rows) == months
    for value, registered, target in rows:
        assert value == registered
        assert target == pytest.approx(500 / 12)
