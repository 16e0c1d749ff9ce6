"""The report's first screen on a generated service with 13 monthly extracts (issue 18's
"done when"): the month-on-month and year-to-date table with a year before, and the
widening gaps between extracts, each against an independent calculation from the marts
(pandas). Uses the session's ``monitoring_warehouse`` (tests/conftest.py), kept on one
worker with the other tests of that service.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_report_first_screen import expected_activity
from test_report_html import text_of

from dcrs.report import write_report
from dcrs.settings import dbt_vars

pytestmark = pytest.mark.xdist_group("monitoring_service")

KEYS = ["service_code", "extract_date", "measure_id"]


def frame(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


def test_activity_of_every_extract_matches_the_monthly_counts(monitoring_warehouse: Path):
    monthly = frame(monitoring_warehouse, "select * from marts.monthly_activity")
    expected = expected_activity(monthly)
    found = frame(monitoring_warehouse, "select * from marts.report_activity")
    assert found["extract_date"].nunique() == 13
    columns = list(expected.columns)
    pd.testing.assert_frame_equal(
        found[columns].sort_values(KEYS).reset_index(drop=True),
        expected[columns].sort_values(KEYS).reset_index(drop=True),
        check_dtype=False,
    )
    # the thirteenth extract reaches the same month a year before
    latest = found[found["extract_date"] == found["extract_date"].max()]
    assert latest["has_year_before_month"].all()
    assert latest["year_before_value"].notna().all()


def expected_widening_gaps(inequalities: pd.DataFrame, threshold: float) -> set[str]:
    """The widening gaps of marts.report_attention, from marts.inequalities: significant
    in an extract and larger than at the service's previous extract by the threshold."""
    extracts = (
        inequalities[["service_code", "extract_date"]].drop_duplicates().sort_values("extract_date")
    )
    extracts["previous_extract_date"] = extracts.groupby("service_code")["extract_date"].shift()
    rates = inequalities[
        inequalities["is_comparable"]
        & inequalities["service_percent"].notna()
        & inequalities["percent"].notna()
    ]
    keys = ["service_code", "extract_date", "indicator_id", "dimension"]
    quintiles = rates[rates["dimension"] == "deprivation_quintile"].sort_values("group_order")
    most = quintiles.groupby(keys).first()
    least = quintiles.groupby(keys).last()
    counted = quintiles.groupby(keys).size()
    deprivation = pd.DataFrame(
        {
            "group_name": most["group_name"],
            "gap": least["percent"] - most["percent"],
            "significant": (most["ci_upper"] < least["ci_lower"])
            | (least["ci_upper"] < most["ci_lower"]),
        }
    )[counted > 1].reset_index()
    others = rates[rates["dimension"] != "deprivation_quintile"]
    groups = others[keys + ["group_name"]].assign(
        gap=others["percent"] - others["service_percent"],
        significant=others["service_comparison"].isin(["higher", "lower"]),
    )
    gaps = pd.concat([deprivation, groups], ignore_index=True)
    gaps = gaps.merge(extracts, on=["service_code", "extract_date"])
    earlier = gaps[keys[:1] + ["extract_date", "indicator_id", "dimension", "group_name", "gap"]]
    earlier = earlier.rename(columns={"extract_date": "previous_extract_date", "gap": "was"})
    compared = gaps.merge(
        earlier,
        on=["service_code", "previous_extract_date", "indicator_id", "dimension", "group_name"],
    )
    widening = compared[
        compared["significant"] & (compared["gap"].abs() - compared["was"].abs() >= threshold)
    ]
    return {
        f"{row.extract_date:%Y-%m-%d} widening_gap:{row.indicator_id}:{row.dimension}:"
        f"{row.group_name}"
        for row in widening.itertuples()
    }


def test_widening_gaps_match_the_inequalities(monitoring_warehouse: Path):
    inequalities = frame(monitoring_warehouse, "select * from marts.inequalities")
    expected = expected_widening_gaps(inequalities, dbt_vars()["attention_gap_widening_points"])
    found = frame(
        monitoring_warehouse,
        "select extract_date, item_id from marts.report_attention "
        "where attention_kind = 'widening_gap'",
    )
    assert {f"{row.extract_date:%Y-%m-%d} {row.item_id}" for row in found.itertuples()} == (
        expected
    )


def test_latest_page_shows_the_year_before(monitoring_warehouse: Path, tmp_path: Path):
    page = write_report(monitoring_warehouse, tmp_path / "report.html").read_text("utf-8")
    text = text_of(page)
    assert "Activity in March 2011 and the year to date" in text
    assert "Activity Mar 2011 Feb 2011 Change Mar 2010 Year to date" in text
    assert text.index("1 Needs attention this month") < text.index("2 Headline figures and")


def test_widening_gaps_on_the_page(monitoring_warehouse: Path, tmp_path: Path):
    """At the extract of 31 May 2010 two gaps of disabled clients widened since April:
    PHPs started (5.4 to 10.9 points below the service) and goals achieved or part
    achieved (5.0 to 16.5 points below); the first screen words both."""
    found = frame(
        monitoring_warehouse,
        "select item_id, round(gap_points, 1) as gap, round(previous_value, 1) as was "
        "from marts.report_attention where attention_kind = 'widening_gap' "
        "and extract_date = '2010-05-31' order by item_order",
    )
    assert [tuple(row) for row in found.itertuples(index=False)] == [
        ("widening_gap:php_started:disability:Disabled", 10.9, 5.4),
        ("widening_gap:goal_achieved_or_part:disability:Disabled", 16.5, 5.0),
    ]
    page = write_report(monitoring_warehouse, tmp_path / "may.html", extract_date="2010-05-31")
    text = text_of(page.read_text("utf-8"))
    attention = text[: text.index("2 Headline figures and targets")]
    assert (
        "Goals achieved or part achieved (disability): 68.4% for Disabled against 84.9% for "
        "the whole service, a gap of 16.5 points, up from 5.0 at the extract of 30 April 2010."
    ) in attention
