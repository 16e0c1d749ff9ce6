"""The report's first screen (issue 18): "Needs attention this month" before anything
else, the month-on-month and year-to-date table under the headline figures, data capture
right after them, and times in Europe/London whatever the machine's timezone.

The report models' figures are checked against an independent calculation from the marts
(pandas); the page is opened in chromium, as in test_report_html.py. Every test reads the
session's sample warehouse (six months of one service, one extract); the logic that needs
more than one extract (a previous year to date, a widening gap) is pinned down by dbt's
unit tests in models/marts/report/_report_first_screen__models.yml.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from test_report_html import Chromium, chromium, needs_chromium, text_of  # noqa: F401

from dcrs.report import write_report

ROOT = Path(__file__).resolve().parents[1]
DCRS = Path(sys.executable).with_name("dcrs")
LONDON = ZoneInfo("Europe/London")
HEADLINES = "2 Headline figures and targets"
SECTIONS = ["attention", "headlines", "data-capture", "monitoring", "measures", "london", "notes"]
# the sample's fields below their standard, in the order of data_capture_fields
SAMPLE_FIELDS_BELOW = ["disability", "signposted_to", "primary_health_issue", "bmi"]


def frame(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


# ---------------------------------------------------------------------------------------
# The report models against the marts


def expected_activity(monthly: pd.DataFrame) -> pd.DataFrame:
    """report_activity worked out in pandas from marts.monthly_activity: the extract's
    month, the one before, the same month a year before, and the NHS financial year to
    date (April to the extract's month) against the same months a year before, where the
    service's months cover all of them."""
    long = monthly.melt(
        id_vars=["service_code", "extract_date", "month"],
        var_name="measure_id",
        value_name="value",
    )
    extract = pd.to_datetime(long["extract_date"])
    month = pd.to_datetime(long["month"])
    # months from the extract's month (0), back to the service's first (negative)
    long["back"] = (month.dt.year - extract.dt.year) * 12 + month.dt.month - extract.dt.month
    year_start = extract.dt.year - (extract.dt.month < 4).astype(int)
    # months from the start of the extract's financial year
    long["in_year"] = (month.dt.year - year_start) * 12 + month.dt.month - 4
    long["year_months"] = long["in_year"] - long["back"] + 1
    keys = ["service_code", "extract_date", "measure_id"]
    first = long.groupby(keys)["in_year"].min().rename("first_in_year")

    def at(back: int, name: str) -> pd.Series:
        return long[long["back"] == back].set_index(keys)["value"].rename(name)

    year_to_date = long[(long["in_year"] >= 0) & (long["back"] <= 0)]
    # the same months a year before: from the previous year's April, as many as to date
    shifted = long["in_year"] + 12
    year_before = long[(shifted >= 0) & (shifted < long["year_months"])]
    result = pd.concat(
        [
            at(0, "this_month_value"),
            at(-1, "previous_month_value"),
            at(-12, "year_before_value"),
            year_to_date.groupby(keys)["value"].sum().rename("year_to_date_value"),
            year_before.groupby(keys)["value"].sum().rename("previous_year_to_date_value"),
            first,
        ],
        axis=1,
    ).reset_index()
    # the previous year is covered when the service's first month is on or before its start
    covered = result["first_in_year"] <= -12
    result.loc[~covered, "previous_year_to_date_value"] = None
    result["month_change"] = result["this_month_value"] - result["previous_month_value"]
    result["year_to_date_change"] = (
        result["year_to_date_value"] - result["previous_year_to_date_value"]
    )
    return result.drop(columns="first_in_year")


def test_report_activity_matches_the_monthly_counts(sample_warehouse: Path) -> None:
    monthly = frame(sample_warehouse, "select * from marts.monthly_activity")
    expected = expected_activity(monthly)
    found = frame(sample_warehouse, "select * from marts.report_activity")
    # every activity measure of monthly_activity has its row (seed activity_measures)
    assert len(found) == len(expected) == 7
    columns = list(expected.columns)
    keys = ["service_code", "extract_date", "measure_id"]
    pd.testing.assert_frame_equal(
        found[columns].sort_values(keys).reset_index(drop=True),
        expected[columns].sort_values(keys).reset_index(drop=True),
        check_dtype=False,
    )
    # the sample: August 2010 against July, the year to date April to August 2010
    registered = found.set_index("measure_id").loc["clients_registered"]
    assert (registered.this_month_value, registered.previous_month_value) == (20, 26)
    assert registered.year_to_date_value == 102 and registered.year_to_date_months == 5
    assert str(registered.year_to_date_start)[:10] == "2010-04-01"
    # the service began in March 2010: no August 2009, no April to August 2009
    assert not registered.has_year_before_month and not registered.previous_year_is_covered


def test_report_attention_matches_the_marts(sample_warehouse: Path) -> None:
    """Each item of the first screen, worked out from the marts: the fields below their
    standard (data_capture), the SPC special causes in the extract's month and the charts
    failing their target (spc), the headline targets the service is not on course for
    (service_summary's projections against its targets); none widening with one extract."""
    extract = frame(sample_warehouse, "select max(extract_date) as d from marts.service_summary")
    extract_date = extract["d"][0]
    capture = frame(
        sample_warehouse,
        "select field from marts.data_capture where not meets_threshold order by field_order",
    )
    spc = frame(sample_warehouse, "select * from marts.spc")
    summary = frame(sample_warehouse, "select * from marts.service_summary").iloc[0]

    this_month = spc["month"] == pd.Timestamp(extract_date).replace(day=1)
    causes = spc[this_month & spc["special_cause"].isin(["concern", "improvement"])]
    failing = spc[spc["assurance_icon"] == "fail"].drop_duplicates("indicator_id")
    off_track = [
        card_id
        for card_id, value, target in (
            (
                "clients_registered",
                summary.projected_clients_12_months,
                summary.year_one_client_target,
            ),
            (
                "clients_per_wte",
                summary.projected_clients_per_wte_12_months,
                summary.target_clients_per_wte,
            ),
            (
                "target_wards",
                summary.target_ward_percent_of_all,
                summary.target_ward_percent_target,
            ),
        )
        if value < target
    ]
    expected = (
        [f"capture_below_standard:{field}" for field in capture["field"]]
        + [
            f"special_cause_concern:{row.indicator_id}"
            for row in causes[causes["special_cause"] == "concern"]
            .sort_values("indicator_order")
            .itertuples()
        ]
        + [
            f"assurance_fail:{row.indicator_id}"
            for row in failing.sort_values("indicator_order").itertuples()
        ]
        + [f"target_off_track:{card_id}" for card_id in off_track]
        + [
            f"special_cause_improvement:{row.indicator_id}"
            for row in causes[causes["special_cause"] == "improvement"]
            .sort_values("indicator_order")
            .itertuples()
        ]
    )
    found = frame(sample_warehouse, "select * from marts.report_attention order by item_order")
    assert list(found["item_id"]) == expected
    assert list(found["item_order"]) == list(range(1, len(expected) + 1))
    assert list(capture["field"]) == SAMPLE_FIELDS_BELOW
    # concerns first, then improvements
    severities = list(found["severity"])
    assert severities == sorted(severities, key=["concern", "improvement"].index)
    # the figures of the fields below their standard are data_capture's
    below = found[found["attention_kind"] == "capture_below_standard"]
    figures = frame(
        sample_warehouse,
        "select percent, threshold_percent, recorded, total from marts.data_capture "
        "where not meets_threshold order by field_order",
    )
    assert list(below["value"]) == list(figures["percent"])
    assert list(below["reference_value"]) == list(figures["threshold_percent"])
    assert list(below["numerator"]) == list(figures["recorded"])
    assert list(below["denominator"]) == list(figures["total"])
    assert set(below["section_id"]) == {"data-capture"}
    assert not (found["attention_kind"] == "widening_gap").any()


def test_published_attention_reads_the_published_tables_only(sample_warehouse: Path) -> None:
    """The published first screen reads the published models only: its fields below
    standard carry the controlled counts (67 of 116 recorded is published as 65 of 115);
    its SPC items are exactly the special causes of the extract's month and the assurance
    fails of the published charts (drawn from the controlled counts, none from a withheld
    chart); it has no trainer item."""
    found = frame(sample_warehouse, "select * from published.report_attention order by item_order")
    disability = found[found["subject_id"] == "disability"].iloc[0]
    assert (disability.numerator, disability.denominator) == (65, 115)
    assert not found["subject_id"].str.contains("trainer_").any()
    charts = frame(sample_warehouse, "select * from published.spc")
    drawn = charts[charts["chart_status"] == "published"]
    this_month = drawn[
        (drawn["month"] == drawn["extract_date"].dt.to_period("M").dt.start_time)
        & drawn["special_cause"].notna()
    ]
    expected = {
        (f"special_cause_{row.special_cause}", row.indicator_id) for row in this_month.itertuples()
    } | {
        ("assurance_fail", indicator)
        for indicator in drawn[drawn["assurance_icon"] == "fail"]["indicator_id"].unique()
    }
    spc_kinds = found["attention_kind"].str.startswith(("special_cause_", "assurance_"))
    items = found[spc_kinds]
    shown = set(zip(items["attention_kind"], items["subject_id"], strict=True))
    assert shown == expected
    withheld = set(charts[charts["chart_status"] == "withheld"]["indicator_id"])
    assert withheld and not withheld & {subject for _, subject in shown}


# ---------------------------------------------------------------------------------------
# The page


@pytest.fixture(scope="module")
def new_york_report(
    sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dt.datetime, dt.datetime]:
    """The report written by `dcrs report` on a machine set to New York's time, with the
    London time just before and just after."""
    out = tmp_path_factory.mktemp("first_screen") / "report.html"
    before = dt.datetime.now(LONDON).replace(second=0, microsecond=0)
    result = subprocess.run(
        [str(DCRS), "report", "--warehouse", str(sample_warehouse), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TZ": "America/New_York"},
        check=False,
    )
    after = dt.datetime.now(LONDON)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, before, after


def test_report_made_in_london_time(new_york_report: tuple[Path, dt.datetime, dt.datetime]):
    out, before, after = new_york_report
    text = text_of(out.read_text(encoding="utf-8"))
    made = re.search(r"Report made (\d{1,2} \w+ \d{4}) at (\d\d:\d\d) (\w+)", text)
    assert made is not None
    shown = dt.datetime.strptime(f"{made[1]} {made[2]}", "%d %B %Y %H:%M").replace(tzinfo=LONDON)
    assert before <= shown <= after
    assert made[3] == after.tzname()  # GMT or BST, never EST
    assert made[3] in ("GMT", "BST")
    assert f"on {made[1]} at {made[2]} {made[3]}" in text  # the footnote says the same


def test_nothing_needs_attention_is_said_plainly(sample_warehouse: Path, tmp_path: Path):
    """Every field at its standard, every target met, no special cause or failing chart:
    the first screen says that nothing needs attention, and lists no item."""
    warehouse = tmp_path / "dcrs.duckdb"
    shutil.copyfile(sample_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.data_capture set meets_threshold = true")
        con.execute(
            "update marts.service_summary set year_one_client_target = 200, "
            "target_clients_per_wte = 200 / total_wte, target_ward_percent_target = 60"
        )
        con.execute("update marts.spc set special_cause = null, assurance_icon = null")
        assert con.execute("select count(*) from marts.report_attention").fetchone() == (0,)
    page = write_report(warehouse, tmp_path / "report.html").read_text(encoding="utf-8")
    text = text_of(page)
    section = text[text.index("1 Needs attention this month") : text.index(HEADLINES)]
    assert "Nothing needs attention this month" in section
    assert 'class="attention-item"' not in page


@needs_chromium
def test_first_screen_in_chromium(
    new_york_report: tuple[Path, dt.datetime, dt.datetime],
    chromium: Chromium,  # noqa: F811
) -> None:
    out = new_york_report[0]
    chromium.open(out.as_uri())
    assert chromium.errors() == []
    assert chromium.requests() == [out.as_uri()]

    # the sections in order, attention first, and the contents numbered as they come
    assert chromium.evaluate("[...document.querySelectorAll('main > section')].map(s => s.id)") == (
        SECTIONS
    )
    assert chromium.evaluate("document.querySelector('main').firstElementChild.id") == "attention"
    headings = chromium.evaluate(
        "[...document.querySelectorAll('main > section > h2')].map(h => h.textContent.trim())"
    )
    assert [heading.split()[0] for heading in headings] == ["1", "2", "3", "4", "5", "6", "7"]
    assert headings[0].endswith("Needs attention this month")
    assert headings[2].endswith("Data capture")
    contents = chromium.evaluate(
        "[...document.querySelectorAll('nav.contents a')].map(a => a.getAttribute('href'))"
    )
    assert contents == [f"#{section}" for section in SECTIONS]

    # on the first screen: the attention list, naming the sample's fields below standard
    top = chromium.evaluate("document.querySelector('#attention').getBoundingClientRect().top")
    assert 0 < top < 600
    below = chromium.evaluate(
        "[...document.querySelectorAll('[data-kind=capture_below_standard]')]"
        ".map(li => [li.dataset.subject, li.textContent.replace(/\\s+/g, ' ').trim(),"
        " li.getBoundingClientRect().bottom])"
    )
    assert [item[0] for item in below] == SAMPLE_FIELDS_BELOW
    assert "Disability recorded for 57.8% (67 of 116), below its standard of 95%" in below[0][1]
    assert "BMI recorded for 82.9% (92 of 111)" in below[3][1]
    assert all(bottom < 1600 for *_, bottom in below), "not on the first screen"
    links = chromium.evaluate(
        "[...document.querySelectorAll('#attention a')].map(a => a.getAttribute('href'))"
    )
    assert "#data-capture" in links and "#headlines" in links and "#monitoring-spc" in links
    assert all(chromium.evaluate(f"!!document.querySelector('{link}')") for link in links)
    kinds = chromium.evaluate(
        "[...document.querySelectorAll('.attention-item')].map(li => li.dataset.kind)"
    )
    assert kinds[: len(SAMPLE_FIELDS_BELOW)] == ["capture_below_standard"] * 4
    assert kinds[-1] == "special_cause_improvement"

    # the month-on-month and year-to-date table, in the headline section
    table = chromium.evaluate(
        "[...document.querySelectorAll('#headlines table.activity tr')]"
        ".map(tr => tr.innerText.replace(/\\s+/g, ' ').trim())"
    )
    assert table[0] == (
        "Activity Aug 2010 Jul 2010 Change Aug 2009 Year to date Apr 2010 to Aug 2010 "
        "A year before Apr 2009 to Aug 2009 Change"
    )
    assert "New clients registered 20 26 −6 — 102 — —" in table
    assert "Goals set 46 54 −8 — 246 — —" in table
    assert len(table) == 1 + 7
    caption = chromium.evaluate("document.querySelector('table.activity caption').textContent")
    assert caption == "Activity in August 2010 and the year to date"


def test_published_page_has_its_own_attention_and_activity(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    """The published page shows its own first screen and month-on-month table, from the
    controlled counts (tests/test_published_report_monitoring.py checks the table)."""
    page = write_report(sample_warehouse, tmp_path / "published.html", published=True)
    html = page.read_text(encoding="utf-8")
    text = text_of(html)
    section = text[text.index("1 Needs attention this month") : text.index(HEADLINES)]
    assert "Disability recorded for 56.5% (65 of 115), below its standard of 95%" in section
    assert "special cause" not in section
    assert 'id="activity"' in html and "New clients registered 20 25 −5 — 105 ±10" in text
