"""The published report's month-on-month table and Monthly monitoring section (issue 18):
the published report models (models/published/report) against an independent calculation
from the published tables (pandas), and the published page as the sample's run wrote it
(report-published.html), in chromium: the section is there with no trainer anywhere in
it, a suppressed month is shown as suppressed (never as 0), and a withheld SPC chart says
why. Every test reads the session's sample warehouse (one extract, six months).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLE_EXPORT, connect, outputs_of
from test_report_html import Chromium, chromium, needs_chromium

__all__ = ["chromium"]  # the fixture, shared with test_report_html

# the sample's rule (dbt_project.yml): counts of 1 to 7 suppressed, others rounded to 5,
# so a published count other than 0 is within 2 of the true one
ROUNDING_MARGIN = 2
FINANCIAL_YEAR_START_MONTH = 4


def frame(warehouse: Path, sql: str) -> pd.DataFrame:
    with connect(warehouse) as con:
        return con.execute(sql).df()


def trainer_codes() -> list[str]:
    with (SAMPLE_EXPORT / "health_trainers.csv").open(newline="", encoding="utf-8") as file:
        return [row["health_trainer_id"] for row in csv.DictReader(file)]


# ---------------------------------------------------------------------------------------
# The published report models against the published tables


def test_published_activity_is_made_of_published_months(sample_warehouse: Path) -> None:
    monthly = frame(sample_warehouse, "select * from published.monthly_activity order by month")
    report = frame(sample_warehouse, "select * from published.report_activity").set_index(
        "measure_id"
    )
    exact = frame(sample_warehouse, "select * from marts.report_activity").set_index("measure_id")
    extract_date = monthly["extract_date"].iloc[0]
    this_month = pd.Timestamp(extract_date.year, extract_date.month, 1)
    start = pd.Timestamp(
        extract_date.year - (extract_date.month < FINANCIAL_YEAR_START_MONTH),
        FINANCIAL_YEAR_START_MONTH,
        1,
    )
    months = monthly.set_index("month")
    period = months.loc[start:this_month]
    assert len(report) == 7 and len(period) == 5
    for measure, row in report.iterrows():
        counts = period[measure]
        this_value = months.loc[this_month, measure]
        previous_value = months.loc[this_month - pd.DateOffset(months=1), measure]
        if pd.isna(this_value):
            assert pd.isna(row["this_month_value"]), measure
        else:
            assert row["this_month_value"] == this_value, measure
        if pd.isna(this_value) or pd.isna(previous_value):
            assert pd.isna(row["month_change"]), measure
        else:
            assert row["month_change"] == this_value - previous_value, measure
        if counts.isna().any():
            # a suppressed month: no sum, not the sum of the others
            assert pd.isna(row["year_to_date_value"]) and pd.isna(row["year_to_date_margin"])
        else:
            margin = ROUNDING_MARGIN * int((counts > 0).sum())
            assert (row["year_to_date_value"], row["year_to_date_margin"]) == (
                counts.sum(),
                margin,
            ), measure
            # the true year to date lies within the margin stated
            true = exact.loc[measure, "year_to_date_value"]
            assert abs(true - row["year_to_date_value"]) <= margin, measure
    assert report["year_to_date_change_percent"].isna().all()
    # on the sample: August's wellbeing follow-ups (6) are suppressed, null and not 0;
    # April's goal outcomes (4) are, so their year to date is null
    assert exact.loc["wellbeing_follow_ups_recorded", "this_month_value"] == 6
    assert pd.isna(report.loc["wellbeing_follow_ups_recorded", "this_month_value"])
    assert pd.isna(report.loc["goal_outcomes_recorded", "year_to_date_value"])
    assert report.loc[
        "clients_registered", ["year_to_date_value", "year_to_date_margin"]
    ].tolist() == [
        105,
        10,
    ]
    assert exact.loc["clients_registered", "year_to_date_value"] == 102


def test_published_spc_charts_say_why_they_are_withheld(sample_warehouse: Path) -> None:
    spc = frame(sample_warehouse, "select * from published.spc order by indicator_id, month")
    charts = frame(sample_warehouse, "select * from published.report_spc_charts").set_index(
        "indicator_id"
    )
    points = frame(sample_warehouse, "select * from published.report_spc")
    status = spc.groupby("indicator_id").first()
    assert sorted(charts.index) == sorted(status.index)
    for indicator, chart in charts.iterrows():
        published = status.loc[indicator]
        assert chart["is_withheld"] == (published["chart_status"] == "withheld"), indicator
        assert chart["suppressed_months"] == published["suppressed_months"], indicator
        if chart["is_withheld"]:
            assert chart["summary"].startswith(
                f"Chart withheld from the published report: {published['withheld_reason']}."
            ), chart["summary"]
            assert pd.isna(chart["mean"]) and pd.isna(chart["variation_icon"])
            assert pd.isna(chart["warning"]), "a withheld chart has no (trial) limits"
            assert chart["variation_label"] == "No variation icon: the chart is withheld"
        else:
            assert chart["mean"] == pytest.approx(published["mean"]), indicator
    # on the sample: new clients charted (mean 20.0 of the rounded months); PHPs and goals
    # achieved withheld, each with a suppressed month
    assert sorted(charts.index[charts["is_withheld"]]) == ["goals_achieved_percent", "phps_started"]
    assert charts.loc["clients_registered", "mean_text"] == "20.0"
    assert "1 month's count is suppressed" in charts.loc["phps_started", "summary"]
    # every month of the charts, its suppression kept: no point, no value
    merged = spc.merge(points, on=["service_code", "extract_date", "indicator_id", "month"])
    assert len(merged) == len(spc) == len(points)
    assert (merged["is_suppressed_x"] == merged["is_suppressed_y"]).all()
    assert not merged.loc[merged["is_suppressed_y"], "is_point"].any()


def test_published_inequalities_keep_suppressed_groups(sample_warehouse: Path) -> None:
    keys = ["service_code", "extract_date", "indicator_id", "dimension", "group_name"]
    table = frame(sample_warehouse, "select * from published.inequalities").set_index(keys)
    report = frame(sample_warehouse, "select * from published.report_inequalities").set_index(keys)
    assert report.index.sort_values().equals(table.index.sort_values())
    report = report.loc[table.index]
    for column in ["n", "denominator", "percent", "ci_lower", "ci_upper"]:
        pd.testing.assert_series_equal(
            report[column].astype(float), table[column].astype(float), check_names=False
        )
    assert report["is_suppressed"].equals(table["is_suppressed"])
    assert not report.loc[report["is_suppressed"], "is_charted"].any()
    assert report["is_suppressed"].sum() == 34
    indices = frame(sample_warehouse, "select * from published.report_inequality_indices")
    withheld = indices.set_index("indicator_id")["summary"]
    assert withheld["php_started"] == (
        "Slope and relative indices of inequality withheld: "
        "a deprivation quintile's count is suppressed."
    )


# ---------------------------------------------------------------------------------------
# The published page, as the run wrote it


@needs_chromium
def test_published_monitoring_in_chromium(sample_warehouse: Path, chromium: Chromium) -> None:
    page = outputs_of(sample_warehouse) / "report-published.html"
    url = page.as_uri()
    chromium.open(url)
    assert chromium.errors() == []
    assert chromium.requests() == [url]
    assert chromium.evaluate("document.body.className") == "published"

    # the section, with no trainer anywhere in it (nor on the page), and no funnel plot
    section = chromium.evaluate("document.querySelector('#monitoring').outerHTML")
    text = chromium.evaluate("document.querySelector('#monitoring').innerText")
    assert "Monthly monitoring" in text
    codes = trainer_codes()
    assert len(codes) == 6
    assert [code for code in codes if code in section] == []
    assert [code for code in codes if code in page.read_text(encoding="utf-8")] == []
    assert chromium.evaluate("document.querySelectorAll('svg.funnel-plot').length") == 0
    assert "Funnel plots are not published" in text
    assert chromium.evaluate("document.querySelectorAll('svg.inequality-chart').length") == 20

    # each SPC chart: a withheld one says why and draws no mean, limits or icons; new
    # clients' mean and both limits (1.4 and 38.6) are inside its axis
    cards = chromium.evaluate(
        "[...document.querySelectorAll('figure.spc-card')].map(card => ["
        " card.dataset.indicator, card.dataset.withheld || 'false',"
        " (card.querySelector('.spc-withheld') || {}).innerText || '',"
        " card.querySelectorAll('circle.spc-point').length,"
        " card.querySelectorAll('line.spc-limit, line.spc-mean').length,"
        " card.querySelectorAll('svg.spc-icon').length,"
        " card.querySelectorAll('text.spc-suppressed').length])"
    )
    by_id = {card[0]: card[1:] for card in cards}
    assert by_id == {
        "clients_registered": ["false", "", 6, 3, 2, 0],
        "phps_started": ["true", "Chart withheld: fewer than 6 months are points.", 5, 0, 0, 1],
        "goals_achieved_percent": [
            "true",
            "Chart withheld: fewer than 6 months are points.",
            4,
            0,
            0,
            1,
        ],
    }

    # the activity table: a suppressed month is *, never 0, and so is what takes it
    rows = chromium.evaluate(
        "[...document.querySelectorAll('#headlines table.activity tbody tr')]"
        ".map(tr => tr.innerText.replace(/\\s+/g, ' ').trim())"
    )
    assert "New clients registered 20 25 −5 — 105 ±10 — —" in rows
    assert "Goal outcomes recorded 10 25 −15 — * — —" in rows
    assert "Wellbeing follow-ups recorded * 10 * — * — —" in rows

    # an inequality group whose count is suppressed: *, not drawn
    group = chromium.evaluate(
        "(() => { const g = document.querySelector('svg.inequality-chart"
        "[data-indicator=php_started][data-dimension=deprivation_quintile]"
        " g[data-group=Q3]');"
        " return [g.querySelectorAll('circle').length, g.lastElementChild.textContent,"
        "  g.querySelector('title').textContent]; })()"
    )
    assert group[:2] == [0, "*"]
    assert "suppressed" in group[2]
