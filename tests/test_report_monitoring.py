"""The report's Monthly monitoring section (issue 18): the report models of
macros/report_monitoring.sql against an independent calculation from the marts (pandas,
numpy), and the section as chromium draws it (an SPC chart per indicator with its limits
and icons, the inequality charts, the funnel plots), on the bundled sample (six months:
every chart is short). The 13-month service is in tests/test_report_monitoring_service.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from test_report_html import Chromium, assert_self_contained, chromium, needs_chromium, text_of

from dcrs.inequality_methods import funnel_proportion_limit
from dcrs.report import write_report

__all__ = ["chromium"]  # the fixture, shared with test_report_html

Z_95, Z_998 = 1.959963984540054, 3.090232306167813


def frame(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
def monitoring_report(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(sample_warehouse, tmp_path_factory.mktemp("monitoring") / "report.html")


# ---------------------------------------------------------------------------------------
# The report models against the marts


def test_spc_charts_summarise_the_mart(sample_warehouse: Path) -> None:
    spc = frame(sample_warehouse, "select * from marts.spc order by indicator_id, month")
    charts = frame(sample_warehouse, "select * from marts.report_spc_charts").set_index(
        "indicator_id"
    )
    points = spc.dropna(subset=["value"])
    latest = points.groupby("indicator_id").last()
    expected = pd.DataFrame(
        {
            "latest_month": latest["month"],
            "latest_value": latest["value"],
            "special_cause_points": spc.groupby("indicator_id")["special_cause"].count(),
            "concern_points": spc.assign(concern=spc["special_cause"].eq("concern"))
            .groupby("indicator_id")["concern"]
            .sum(),
            "chart_points": spc.groupby("indicator_id")["chart_points"].first(),
            "variation_icon": spc.groupby("indicator_id")["variation_icon"].first(),
        }
    )
    assert len(charts) == spc["indicator_id"].nunique() == 20
    got = charts.loc[expected.index, expected.columns]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False)
    # the icons' letters and words follow the mart's icon names
    letters = (
        charts["variation_icon"].str.extract(r"_(high|low)$")[0].map({"high": "H", "low": "L"})
    )
    assert charts["variation_letter"].fillna("-").equals(letters.fillna("-"))
    assurance = charts["assurance_icon"].map({"pass": "P", "fail": "F", "inconsistent": "?"})
    assert charts["assurance_letter"].fillna("-").equals(assurance.fillna("-"))
    # on the sample: clients registered short of the 41.7 a month target, F; date of
    # birth's near-constant series, every point a special cause (docs/monitoring.md)
    registered = charts.loc["clients_registered"]
    assert (registered["assurance_letter"], registered["target_text"]) == ("F", "41.7")
    assert "will not be met unless something changes" in registered["summary"]
    birth = charts.loc["capture_date_of_birth"]
    assert birth["special_cause_points"] == 6 and birth["variation_letter"] == "H"
    assert "6 of 6 months are special causes (outside limits)" in birth["summary"]
    assert charts["warning"].notna().all()


def test_spc_points_and_scales(sample_warehouse: Path) -> None:
    spc = frame(sample_warehouse, "select * from marts.spc")
    points = frame(sample_warehouse, "select * from marts.report_spc")
    merged = spc.merge(points, on=["service_code", "extract_date", "indicator_id", "month"])
    assert len(merged) == len(spc) == len(points)
    for column in ["value", "mean", "lower_process_limit", "upper_process_limit", "target"]:
        assert np.allclose(merged[f"{column}_x"], merged[f"{column}_y"], equal_nan=True), column
    # every month placed in order along its chart
    merged = merged.sort_values(["indicator_id", "month"])
    expected_index = merged.groupby("indicator_id").cumcount()
    assert (merged["month_index"] == expected_index).all()
    # the scale holds everything drawn, but for what lies beyond 0 (or 100%)
    drawn = merged[
        ["value_x", "mean_x", "lower_process_limit_x", "upper_process_limit_x", "target_x"]
    ]
    lowest = drawn.min(axis=1).groupby(merged["indicator_id"]).transform("min")
    highest = drawn.max(axis=1).groupby(merged["indicator_id"]).transform("max")
    assert (merged["axis_min"] <= lowest.clip(lower=0) + 1e-9).all()
    capped = highest.where(
        merged["indicator_id"].isin(["clients_registered", "phps_started"]), highest.clip(upper=100)
    )
    assert (merged["axis_max"] >= capped - 1e-9).all()
    assert (merged["axis_max"] > merged["axis_min"]).all()


def test_inequalities_as_the_mart_with_unknown_groups_never_compared(
    sample_warehouse: Path,
) -> None:
    keys = ["service_code", "extract_date", "indicator_id", "dimension", "group_name"]
    mart = frame(sample_warehouse, "select * from marts.inequalities").set_index(keys)
    report = frame(sample_warehouse, "select * from marts.report_inequalities").set_index(keys)
    assert report.index.sort_values().equals(mart.index.sort_values())
    report = report.loc[mart.index]
    for column in ["n", "denominator", "percent", "ci_lower", "ci_upper", "benchmark_percent"]:
        assert np.allclose(
            report[column].astype(float), mart[column].astype(float), equal_nan=True
        ), column
    reach = mart.index.get_level_values("indicator_id") == "reach"
    expected = mart["service_comparison"].where(~reach, mart["benchmark_comparison"])
    expected = expected.where(mart["is_comparable"])
    assert report["comparison"].fillna("-").equals(expected.fillna("-"))
    assert report.loc[~report["is_comparable"], "compared_with"].isna().all()
    # every chart's scale holds its intervals and benchmarks
    highest = mart[["ci_upper", "benchmark_percent", "percent"]].max(axis=1)
    chart = highest.groupby(level=["indicator_id", "dimension"]).transform("max")
    assert (report["axis_max"] >= chart.clip(upper=100).fillna(0)).all()
    # deprivation first
    order = report.reset_index().sort_values("dimension_order")
    assert order["dimension"].iloc[0] == "deprivation_quintile"


def test_inequality_indices_in_words(sample_warehouse: Path) -> None:
    indices = frame(sample_warehouse, "select * from marts.inequality_indices")
    report = frame(sample_warehouse, "select * from marts.report_inequality_indices")
    merged = indices.merge(report, on=["service_code", "extract_date", "indicator_id"])
    assert len(merged) == len(indices) == 4
    for row in merged.itertuples():
        if pd.isna(row.sii_x):
            assert row.summary.endswith(f"withheld: {row.withheld_reason_x}."), row.summary
        else:
            assert f"{row.sii_x:+.1f} percentage points" in row.summary
            assert f"(95% interval {row.sii_lower_x:+.1f} to {row.sii_upper_x:+.1f})" in row.summary
    # the sample's quintile 5 is empty: every index is withheld
    assert merged["is_withheld"].all()


def test_funnel_points_and_curves(sample_warehouse: Path) -> None:
    keys = ["service_code", "extract_date", "indicator_id"]
    mart = frame(sample_warehouse, "select * from marts.funnel_trainers")
    points = frame(sample_warehouse, "select * from marts.report_funnel_trainers")
    merged = mart.merge(points, left_on=[*keys, "health_trainer_id"], right_on=[*keys, "unit_id"])
    assert len(merged) == len(mart) == len(points) == 18
    for column in ["percent", "lower_95", "upper_998"]:
        assert np.allclose(merged[f"{column}_x"], merged[f"{column}_y"], equal_nan=True)
    assert merged.loc[merged["significance_y"].eq("High (0.025)"), "unit_id"].tolist() == ["HT06"]
    # the plot's x axis reaches past every trainer's denominator
    assert (merged["x_axis_max"] >= merged["denominator_y"]).all()
    # the curves: the SQL limits at each step equal numpy's (dcrs.inequality_methods)
    curves = frame(sample_warehouse, "select * from marts.report_funnel_trainer_limits")
    centre = points.groupby("indicator_id")["centre_percent"].first() / 100
    average = curves["indicator_id"].map(centre).to_numpy()
    for column, z, side in [
        ("lower_95", Z_95, "low"),
        ("upper_95", Z_95, "high"),
        ("lower_998", Z_998, "low"),
        ("upper_998", Z_998, "high"),
    ]:
        expected = funnel_proportion_limit(curves["denominator"].to_numpy(), average, z, side)
        assert np.allclose(curves[column], expected), column
    assert curves.groupby("indicator_id").size().min() >= 40
    # services: one service in the sample's warehouse, so one point per indicator
    services = frame(sample_warehouse, "select * from marts.report_funnel_services")
    assert len(services) == 3 and services["is_this_service"].all()


# ---------------------------------------------------------------------------------------
# The page


def test_section_on_the_page(monitoring_report: Path) -> None:
    page = monitoring_report.read_text(encoding="utf-8")
    text = text_of(page)
    assert text.index("Data capture") < text.index("Monthly monitoring")
    assert text.index("Monthly monitoring") < text.index("Comparison with other London")
    assert len(re.findall(r'<svg class="spc-chart"', page)) == 20
    assert "20 of 20 charts have too few points for firm limits." in text
    assert "NHSRplotthedots warns: “Some groups have 'n < 12' observations." in text
    assert (
        "Slope and relative indices of inequality withheld: a deprivation quintile has "
        "fewer than 10 records." in text
    )
    assert "HT06 95.8%, above the 95% limit." in text
    assert "The warehouse holds this service only: no funnel plot of services." in text
    assert_self_contained(page)


def test_published_report_has_monitoring_but_no_trainers(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    """The published page's section, from the published tables (checked in
    tests/test_published_report_monitoring.py): no funnel plot, no trainer."""
    page = write_report(sample_warehouse, tmp_path / "published.html", published=True).read_text(
        encoding="utf-8"
    )
    assert 'id="monitoring"' in page and len(re.findall(r'<svg class="spc-chart"', page)) == 3
    assert '<svg class="funnel-plot"' not in page
    assert not re.search(r"HT0\d", page)


@needs_chromium
def test_monitoring_in_chromium(monitoring_report: Path, chromium: Chromium) -> None:
    url = monitoring_report.as_uri()
    chromium.open(url)
    assert chromium.errors() == []
    assert chromium.requests() == [url]
    charts = chromium.evaluate(
        "[...document.querySelectorAll('figure.spc-card')].map(card => {"
        " const svg = card.querySelector('svg.spc-chart');"
        " const box = svg.getBoundingClientRect();"
        " const icon = kind => card.querySelector(`svg.${kind}-icon title`).textContent;"
        " return [card.dataset.indicator, Math.round(box.width), Math.round(box.height),"
        "  svg.querySelectorAll('circle.spc-point').length,"
        "  svg.querySelectorAll('line.spc-limit').length,"
        "  !!svg.querySelector('line.spc-mean'), !!svg.querySelector('line.spc-target'),"
        "  icon('variation'), icon('assurance'),"
        "  !!card.querySelector('.spc-warning')]; })"
    )
    assert len(charts) == 20
    by_id = {chart[0]: chart[1:] for chart in charts}
    for indicator, (
        width,
        height,
        dots,
        _limits,
        mean,
        _,
        variation,
        assurance,
        warned,
    ) in by_id.items():
        assert width > 200 and height > 100, indicator
        assert dots >= 3 and mean and warned, indicator
        assert variation and assurance, indicator
    # clients registered: the upper limit (the lower, -0.9, is below the axis's 0), the
    # target, the F icon titled in words; disability's limits both inside the axis
    registered = by_id["clients_registered"]
    assert registered[3] == 1 and registered[5]
    assert by_id["capture_disability"][3] == 2
    assert registered[7] == "Assurance: the target is consistently missed"
    assert by_id["capture_date_of_birth"][6] == "Special cause improvement, high"
    special = chromium.evaluate(
        "[...document.querySelectorAll('svg.spc-chart[data-indicator=capture_eligible] "
        "circle.spc-point')]"
        ".map(c => [c.getAttribute('fill'), c.querySelector('title').textContent])"
    )
    fills = {fill for fill, _ in special}
    assert fills == {"#289de0", "#fab428"}, fills  # improvement blue, concern orange
    assert any("special cause concern" in title for _, title in special)
    assert chromium.evaluate("document.querySelectorAll('svg.inequality-chart').length") == 20
    assert chromium.evaluate("document.querySelectorAll('svg.funnel-plot').length") == 3
    assert (
        chromium.evaluate("document.querySelectorAll('svg.funnel-plot path.funnel-limit').length")
        == 12
    )
    labels = chromium.evaluate(
        "[...document.querySelectorAll('svg.funnel-plot[data-indicator=data_capture] "
        "g.funnel-point')].map(g => g.dataset.unit)"
    )
    assert labels == ["HT01", "HT02", "HT03", "HT04", "HT05", "HT06"]


@needs_chromium
def test_monitoring_prints(monitoring_report: Path, chromium: Chromium) -> None:
    """On paper: the section starts a page, three SPC charts a row, no chart split."""
    import base64

    chromium.open(monitoring_report.as_uri())
    chromium.send("Emulation.setEmulatedMedia", {"media": "print"})
    layout = chromium.evaluate(
        "(() => { const style = selector => getComputedStyle(document.querySelector(selector));"
        " return [style('#monitoring').breakBefore,"
        "  style('.spc-grid').gridTemplateColumns.split(' ').length,"
        "  style('.spc-card').breakInside, style('.section-links').display]; })()"
    )
    assert layout == ["page", 3, "avoid", "none"]
    pdf = base64.b64decode(
        chromium.send("Page.printToPDF", {"preferCSSPageSize": True}, timeout=60)["data"]
    )
    assert pdf.startswith(b"%PDF")
    assert chromium.errors() == []
