"""The report's Monthly monitoring section on a generated service of 13 monthly extracts
(the `monitoring_warehouse` session fixture): thirteen points make full charts, so no
chart carries NHSRplotthedots' short-chart warning, and every special cause the mart
flags at the latest extract is drawn in its colour."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from dcrs.report import write_report

pytestmark = pytest.mark.xdist_group("monitoring_service")

# a chart's circles, in the order drawn: spc.html.j2 marks each with its special cause
CHART = re.compile(r'<svg class="spc-chart" data-indicator="([^"]+)"(.*?)</svg>', re.S)
POINT = re.compile(r'<circle class="spc-point spc-point-(\w+)"')


def drawn_points(page: str) -> dict[str, Counter]:
    """Each SPC chart's points on the page, counted by kind (common, improvement, ...)."""
    return {indicator: Counter(POINT.findall(body)) for indicator, body in CHART.findall(page)}


def check_full_charts(warehouse: Path, out: Path) -> str:
    """The report of the warehouse's latest extract: its charts against marts.spc."""
    page = write_report(warehouse, out).read_text(encoding="utf-8")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        extract_date = con.execute("select max(extract_date) from marts.spc").fetchone()[0]
        rows = con.execute(
            "select indicator_id, coalesce(special_cause, 'common'), count(*) "
            "from marts.spc where extract_date = ? and value is not null group by all",
            [extract_date],
        ).fetchall()
        points = dict(
            con.execute(
                "select indicator_id, any_value(chart_points) from marts.spc "
                "where extract_date = ? group by all",
                [extract_date],
            ).fetchall()
        )
    expected: dict[str, Counter] = {}
    for indicator, kind, count in rows:
        expected.setdefault(indicator, Counter())[kind] = count
    assert drawn_points(page) == expected
    assert min(points.values()) >= 13
    assert 'class="spc-warning' not in page and "Trial limits" not in page
    assert "n &lt; 12" not in page
    return page


def test_thirteen_months_full_charts_and_their_special_causes(
    monitoring_warehouse: Path, tmp_path: Path
) -> None:
    page = check_full_charts(monitoring_warehouse, tmp_path / "report.html")
    charts = drawn_points(page)
    assert len(charts) == 20
    # the generated service has special causes to show (docs/monitoring.md)
    assert sum(count[kind] for count in charts.values() for kind in count if kind != "common")
    # a month label at each end of a 13-month chart
    assert "Mar 2010" in page and "Mar 2011" in page
