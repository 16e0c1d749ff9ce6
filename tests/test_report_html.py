"""The HTML report (dcrs.report.write_report), rendered from a real warehouse and opened
in a real headless browser: Debian's chromium, driven over the DevTools protocol.

The browser tests check what a person would see: every measure's chart in the DOM as
chromium builds it, no console error, no request for anything but the file itself, and a
screenshot of the first screen. Set DCRS_UPDATE_SCREENSHOT=1 to save that screenshot as
docs/report-screenshot.png (it is otherwise kept in the test's temporary folder, so that
a test run does not change a tracked file).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dcrs.report import ReportError, write_report

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "report-screenshot.png"
# one chart per measure of the catalogue
with open(ROOT / "seeds" / "measures.csv", newline="", encoding="utf-8") as catalogue:
    MEASURE_COUNT = len(list(csv.DictReader(catalogue)))
SCREEN_WIDTH, SCREEN_HEIGHT = 1200, 1600
MAX_SCREENSHOT_BYTES = 400 * 1024

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
)

# The counts that the published (disclosure-controlled) tables hold
SUMMARY_COUNT_COLUMNS = [
    "clients_registered",
    "women",
    "men",
    "eligible_clients",
    "clients_with_php",
    "goals_set",
    "goals_with_outcome",
    "clients_in_target_wards",
    "clients_with_ward_recorded",
    "clients_in_two_most_deprived_quintiles",
    "goals_achieved_or_part",
]


# ---------------------------------------------------------------------------------------
# A headless chromium driven over the DevTools protocol


class Chromium:
    """One headless chromium on loopback, with one page whose events are recorded."""

    def __init__(self, workdir: Path) -> None:
        from websockets.sync.client import connect

        self.profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=workdir))
        self.log = (workdir / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its children end with it
        )
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        try:
            port, path = self._devtools_address()
            self.socket = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=20)
        except BaseException:
            self.close()
            raise
        self.session: str | None = None

    def _devtools_address(self, timeout: float = 30.0) -> tuple[str, str]:
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            if active.exists():
                lines = active.read_text().split("\n")
                if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                    return lines[0].strip(), lines[1].strip()
            time.sleep(0.05)
        raise TimeoutError("chromium did not write DevToolsActivePort")

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 30.0) -> dict:
        for recorded in self.events:
            if recorded["method"] == event:
                return recorded
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if "method" in reply:
                self.events.append(reply)
                if reply["method"] == event:
                    return reply

    def open(self, url: str, width: int = SCREEN_WIDTH, height: int = SCREEN_HEIGHT) -> None:
        """A new page, recording console, log and network events, at ``url``."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")
        return found

    def requests(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event["method"] == "Network.requestWillBeSent"
        ]

    def screenshot(self, width: int, height: int) -> bytes:
        import base64

        result = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        return base64.b64decode(result["data"])

    def close(self) -> None:
        """Close the socket and end this chromium (its process group) by its id."""
        socket = getattr(self, "socket", None)
        if socket is not None:
            socket.close()
        group = self.process.pid  # its own process group: chromium and its helpers
        try:
            os.killpg(group, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:  # until the helpers have gone too
                os.killpg(group, 0)
                time.sleep(0.05)
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    browser = Chromium(tmp_path)
    try:
        yield browser
    finally:
        browser.close()
    assert browser.process.poll() is not None, "chromium is still running"


# ---------------------------------------------------------------------------------------
# Reading the page


class PageParser(HTMLParser):
    """The parts of the page the tests look at, from the HTML text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charts: list[str] = []
        self.counts: list[str] = []
        self.row_headers: dict[str, list[str]] = {}
        self.external: list[str] = []
        self._in_count = False
        self._count_text = ""
        self._measure: str | None = None
        self._row_header: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "svg" and attributes.get("data-measure"):
            self.charts.append(attributes["data-measure"] or "")
        if tag == "article" and (attributes.get("id") or "").startswith("measure-"):
            self._measure = (attributes["id"] or "").removeprefix("measure-")
        if tag == "span" and "count" in (attributes.get("class") or "").split():
            self._in_count, self._count_text = True, ""
        if tag == "th" and attributes.get("scope") == "row" and self._measure:
            self._row_header = []
        if tag in ("script", "link", "img", "iframe", "object", "embed", "base"):
            self.external.append(f"<{tag} {attrs}>")
        for name, value in attrs:
            linking = name in ("src", "srcset", "href", "xlink:href", "action", "poster")
            if linking and value and not value.startswith("#"):
                self.external.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._in_count:
            self.counts.append(self._count_text)
            self._in_count = False
        if tag == "th" and self._row_header is not None and self._measure:
            text = "".join(self._row_header).removesuffix(" target ward").strip()
            self.row_headers.setdefault(self._measure, []).append(text)
            self._row_header = None
        if tag == "article":
            self._measure = None

    def handle_data(self, data: str) -> None:
        if self._in_count:
            self._count_text += data
        if self._row_header is not None:
            self._row_header.append(data)


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def text_of(page: str) -> str:
    """The page's text, tags dropped, entities decoded, spaces collapsed."""
    import html

    page = re.sub(r"(?s)<(style|title|desc)\b.*?</\1>", " ", page)
    page = re.sub(r"</?(?:strong|em|span|a|code)\b[^>]*>", "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def assert_self_contained(page: str) -> None:
    assert not re.search(r"(?i)\b(?:https?|ftp|wss?|file|data):", page), "the page names a URL"
    assert not re.search(r"(?i)(?:src|href)\s*=\s*[\"']?//", page)
    assert not re.search(r"(?i)<script|<link|<img|<iframe|<object|<embed|<base", page)
    assert not re.search(r"(?i)@import|url\(|@font-face", page)
    assert parse(page).external == []


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def measure_ids(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [
            row[0]
            for row in con.execute(
                "select measure_id from reference.measures order by measure_order"
            ).fetchall()
        ]


def has_published_schema(warehouse: Path) -> bool:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return bool(
            con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'published' and table_name = 'measure_breakdown'"
            ).fetchone()[0]
        )


def assert_disclosure_controlled(page: str, exact_counts: set[int]) -> None:
    """Every count on the page is *, 0 or a multiple of the rounding base (never 1 to 7);
    no exact count that rounding would change appears anywhere in the text (from 60 up:
    smaller numbers are also band edges, dates and postcode districts)."""
    counts = parse(page).counts
    assert counts, "the page marks no counts"
    for shown in counts:
        if shown == "*":
            continue
        value = int(shown.replace(",", ""))
        assert not 1 <= value <= 7, f"count {value} shown in the published report"
        assert value % 5 == 0, f"unrounded count {value} shown in the published report"
    assert "*" in counts, "nothing is suppressed: the sample has counts of 1 to 7"
    text = text_of(page)
    for exact in sorted(exact_counts):
        if exact % 5 and exact >= 60:
            assert not re.search(rf"(?<![\d.,]){exact:,}(?![\d.,]\d|\d)", text), (
                f"the exact count {exact} appears in the published report"
            )


# ---------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def report_file(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    started = time.perf_counter()
    written = write_report(sample_warehouse, out)
    seconds = time.perf_counter() - started
    print(f"write_report rendered {out.stat().st_size:,} bytes in {seconds:.2f} s")
    assert written == out
    assert seconds < 10, f"rendering took {seconds:.1f} s"
    return out


@pytest.fixture(scope="module")
def report_page(report_file: Path) -> str:
    return report_file.read_text(encoding="utf-8")


def _exact_counts(warehouse: Path) -> set[int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = {row[0] for row in con.execute("select n from marts.measure_breakdown").fetchall()}
        found |= set(
            con.execute(
                f"select {', '.join(SUMMARY_COUNT_COLUMNS)} from marts.service_summary"
            ).fetchone()
        )
        for recorded, total in con.execute(
            "select recorded, total from marts.data_capture"
        ).fetchall():
            found |= {recorded, total}
    return {value for value in found if value is not None}


# ---------------------------------------------------------------------------------------
# The page as written


def test_report_names_service_extract_and_when_it_was_made(report_page: str) -> None:
    text = text_of(report_page)
    assert "Kensington and Chelsea Health Trainer Service" in text
    # service and extract identify the export (the folder it was read from is not shown)
    assert re.search(
        r"Extract date 31 August 2010 Period 12 March 2010 to 31 August 2010 "
        r"\(6 calendar months, 173 days\) "
        r"Report made \d{1,2} \w+ \d{4} at \d\d:\d\d",
        text,
    )
    assert "Exact counts, for the service's own use" in text
    assert "@media print" in report_page and "break-before: page" in report_page


def test_headline_figures_and_targets_come_first(report_page: str) -> None:
    text = text_of(report_page)
    start = text.index("2 Headline figures and targets")
    headline = text[start : text.index("3 Data capture", start)]
    for expected in (
        "Clients registered 116 in 6 months. At this rate 232 in the first 12 months, "
        "against a year-one target of 500. By days of operation (173 days): 245 "
        "(95% exact Poisson interval 202 to 294).",
        "All figures: 12 March 2010 to 31 August 2010",
        "Projected 46% of the target",
        "Clients per WTE health trainer 21.5",
        "Projected 43.0 in 12 months; the year-one target asks for 92.6.",
        "Personal Health Plan to client ratio 0.85 99 of 116 clients have a PHP",
        "London services: 0.35.",
        "Clients from target wards 63.8% of all clients (74 of 116); 64.9% of clients with a "
        "ward recorded (74 of 114). Target: 75%.",
        # the target counts all clients (75 - 63.8), not those with a ward recorded
        "11.2 points short",
        "Clients from the two most deprived quintiles 84.5% 98 of 116 clients. England: 67.2%.",
        "Goals achieved or part achieved 90.7% 107 of 118 goals with an outcome",
    ):
        assert expected in headline, expected


def test_every_measure_has_a_chart_and_table_in_order(
    report_page: str, sample_warehouse: Path
) -> None:
    page = parse(report_page)
    expected = measure_ids(sample_warehouse)
    assert len(expected) == MEASURE_COUNT
    assert page.charts == expected
    assert list(page.row_headers) == expected
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        for measure_id in expected:
            categories = [
                row[0]
                for row in con.execute(
                    "select category from marts.measure_breakdown where measure_id = ? "
                    "order by category_order",
                    [measure_id],
                ).fetchall()
            ]
            assert page.row_headers[measure_id] == categories, measure_id


def test_each_chart_has_a_title_description_and_bars(report_page: str) -> None:
    for measure_id in ("age_band", "ethnicity", "goal"):
        chart = re.search(
            rf'<svg class="chart" data-measure="{measure_id}".*?</svg>', report_page, re.S
        )
        assert chart, measure_id
        svg = chart.group(0)
        assert f'<title id="chart-{measure_id}-title">' in svg
        assert f'<desc id="chart-{measure_id}-desc">' in svg
        assert svg.count('<g class="bar-row">') >= 5
    age = re.search(r'<svg class="chart" data-measure="age_band".*?</svg>', report_page, re.S)
    assert age is not None
    # 8 charted bands (Not recorded and Invalid are excluded), each with interval and benchmark
    assert age.group(0).count('class="ci"') == 8
    assert age.group(0).count('class="benchmark"') == 8
    assert "Not recorded:" not in age.group(0)


def test_comparisons_in_plain_words(report_page: str) -> None:
    text = text_of(report_page)
    age = text[text.index("Table 7.1.2") : text.index("Table 7.1.3")]
    assert "Significantly lower than England: 18 - 25 (2.6% against 9.4%)." in age
    assert "< 18 1 0.9% 0.2 to 4.8 1.5% similar to England" in age
    assert "Not charted (excluded from the denominator): Not recorded (1), Invalid (0)." in age
    ethnicity = text[text.index("Table 7.1.3") : text.index("Table 7.1.4")]
    assert (
        "Black or Black British - African 31 26.7% 19.5 to 35.4 3.8% higher than the "
        "borough population"
    ) in ethnicity
    assert "White - British 28 24.1% 17.3 to 32.7 50.1% lower than the borough population" in (
        ethnicity
    )
    outcome = text[text.index("Table 7.1.13") : text.index("Table 7.1.14")]
    # goals achieved have a direction (higher is better): better, and also at 99.8%
    assert (
        "Significantly higher than England: Achieved (71.2% against 52.6%, better, also at "
        "99.8%)." in outcome
    )
    gender = text[text.index("Table 7.1.1 ") : text.index("Table 7.1.2")]
    assert "Most common: Female, 73.3% (85 of 116 clients)." in gender
    assert "No benchmark." in gender


def test_labels_are_escaped(report_page: str) -> None:
    assert ">&lt; 18<" in report_page
    assert "< 18" not in re.sub(r"<style>.*?</style>", "", report_page, flags=re.S)
    assert "Earl&#39;s Court" in report_page or "Earl&#x27;s Court" in report_page
    page = parse(report_page)
    assert "< 18" in page.row_headers["age_band"]
    assert "Earl's Court" in page.row_headers["ward"]
    assert "Poster / leaflet" in page.row_headers["how_heard"]


def test_target_wards_are_marked(report_page: str) -> None:
    ward = report_page[report_page.index('id="measure-ward"') :]
    ward = ward[: ward.index("</article>")]
    assert ward.count('<span class="tag">target ward</span>') == 6


def test_data_capture_with_threshold_result_and_trend(report_page: str) -> None:
    section = report_page[
        report_page.index('id="data-capture"') : report_page.index('id="measures"')
    ]
    assert section.count('<svg class="sparkline"') == 17
    text = text_of(section)
    assert "4 of 17 fields are below their standard:" in text
    assert "Disability disability all clients 67 of 116 57.8% 95% below none" in text
    assert "Gender gender all clients 116 of 116 100.0% 95% meets none" in text
    # one extract so far: each sparkline is a single point
    spark = re.search(r'<svg class="sparkline" data-field="disability".*?</svg>', section, re.S)
    assert spark is not None
    assert spark.group(0).count("<circle") == 1 and "<path" not in spark.group(0)
    assert "Aug 2010: 57.8%" in spark.group(0)


def capture_at(months: int, fewer: int, published: bool) -> str:
    """SQL adding a copy of the reported extract's data capture, ``months`` from it, with
    ``fewer`` clients in every field's population and ``fewer`` + ``fewer`` // 10 fewer
    recorded; published: the copy as published.data_capture would hold it (controlled
    counts, 1 to 7 suppressed, others rounded to 5, and the percent from them)."""
    recorded, total = "(recorded - ? - ? // 10)", "(total - ?)"
    if published:
        recorded, total = (
            f"case when {count} = 0 then 0 when {count} > 7 then ({count} * 2 + 5) // 10 * 5 end"
            for count in (recorded, total)
        )
    schema = "published" if published else "marts"
    return f"""
        insert into {schema}.data_capture
        select
            service_code, extract_date, field, field_order, population, recorded, total,
            100.0 * recorded / nullif(total, 0), threshold_percent,
            coalesce(100.0 * recorded / nullif(total, 0) >= threshold_percent, true)
        from (
            select
                service_code, (extract_date + to_months({months}))::date as extract_date,
                field, field_order, population, threshold_percent,
                {recorded} as recorded, {total} as total
            from marts.data_capture
            where extract_date = (select max(extract_date) from marts.service_summary)
        )
        """.replace("?", str(fewer))


def test_capture_trend_across_extracts(sample_warehouse: Path, tmp_path: Path) -> None:
    """Earlier extracts in data_capture (marts and published keep every extract): those up
    to the extract reported, in date order; later extracts are left out. The published
    trend comes from published.data_capture alone: controlled counts, and percents from
    them."""
    warehouse = tmp_path / "dcrs.duckdb"
    shutil.copyfile(sample_warehouse, warehouse)
    published = has_published_schema(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        for months, fewer in (
            (-2, 20),  # June
            (-1, 10),  # July
            (1, 0),  # September: after the extract reported, left out
        ):
            if published:
                con.execute(capture_at(months, fewer, published=True))
            con.execute(capture_at(months, fewer, published=False))
    page = write_report(warehouse, tmp_path / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="data-capture"') : page.index('id="measures"')]
    assert "from 30 June 2010 to 31 August 2010 (3 extracts)" in text_of(section)
    # disability: 45 of 96 in June, 56 of 106 in July, 67 of 116 in August
    assert "Disability disability all clients 67 of 116 57.8% 95% below 52.8%" in text_of(section)
    spark = re.search(r'<svg class="sparkline" data-field="disability".*?</svg>', section, re.S)
    assert spark is not None
    assert "Jun 2010: 46.9%; Jul 2010: 52.8%; Aug 2010: 57.8%" in spark.group(0)
    assert spark.group(0).count("<path") == 1 and spark.group(0).count("<circle") == 3
    if published:
        # the controlled counts: 67 of 116 -> 65 of 115; 56 of 106 -> 55 of 105;
        # 45 of 96 -> 45 of 95
        out = write_report(warehouse, tmp_path / "published.html", published=True)
        section = out.read_text(encoding="utf-8")
        section = section[section.index('id="data-capture"') : section.index('id="measures"')]
        assert "Jun 2010: 47.4%; Jul 2010: 52.4%; Aug 2010: 56.5%" in section
        assert "65 of 115 56.5% 95% below 52.4%" in text_of(section)


def test_london_comparison(report_page: str) -> None:
    section = text_of(report_page[report_page.index('id="london"') :])
    assert "Kensington and Chelsea (6 months) 12 March 2010 to 31 August 2010" in section
    assert "Kensington and Chelsea, annualised 12 months at the rate so far" in section
    assert "London services April 2009 to March 2010" in section
    # the service's value, then annualised (counts over the period only), then London's
    assert "Total Clients 116 232 8,408 281 54" in section
    assert "Total HTs/THTs 6 6 196 34 6" in section
    assert "Average Number of Clients seen per WTE 21.5 43.0 118.8 16.8 15.0" in section
    assert "PHP to client ratio 0.85 0.85 0.35 0.16 0.11" in section


def test_report_is_self_contained(report_page: str) -> None:
    assert_self_contained(report_page)


def test_unknown_service_or_extract_is_an_error(sample_warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="service XX"):
        write_report(sample_warehouse, tmp_path / "r.html", service_code="XX")
    with pytest.raises(ReportError, match="extract 2010-07-31"):
        write_report(sample_warehouse, tmp_path / "r.html", extract_date="2010-07-31")
    written = write_report(
        sample_warehouse, tmp_path / "r.html", service_code="KC", extract_date="2010-08-31"
    )
    assert "31 August 2010" in written.read_text(encoding="utf-8")


def test_headline_verdicts_follow_the_targets(sample_warehouse: Path, tmp_path: Path) -> None:
    """The cards' verdicts are the report models', from the targets in the marts: with a
    year-one target of 200 clients (232 projected; 37.0 per WTE, 43.0 projected) and a
    target-ward target of 60% (63.8% of all clients), the three cards with
    a target say it is met."""
    warehouse = tmp_path / "dcrs.duckdb"
    shutil.copyfile(sample_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update marts.service_summary set year_one_client_target = 200, "
            "target_clients_per_wte = 200 / total_wte, target_ward_percent_target = 60"
        )
    page = write_report(warehouse, tmp_path / "report.html").read_text(encoding="utf-8")
    text = text_of(page)
    start = text.index("2 Headline figures and targets")
    headline = text[start : text.index("3 Data capture", start)]
    assert "against a year-one target of 200. By days of operation" in headline
    assert "interval 202 to 294). On course for the target" in headline
    assert "the year-one target asks for 37.0. On course for the target" in headline
    assert "Target: 60%. Target met" in headline
    assert "short" not in headline and "of the target" not in headline
    assert "below" not in headline.lower()
    assert page.count('<div class="card card-met">') == 3
    assert "against a target of 60%." in text[text.index("Table 7.1.8") :]


def test_reports_read_only_their_own_schema(sample_warehouse: Path, tmp_path: Path) -> None:
    """The report reads its report models and nothing else: the service's own with every
    schema but marts and reference dropped (staging among them, and the quality results
    in marts), the published one with every schema but published and reference dropped.
    Each page is as before."""
    made = r"\d{1,2} \w+ \d{4} at \d\d:\d\d \w*"
    compared = 0
    for published, keep in ((False, "marts"), (True, "published")):
        if published and not has_published_schema(sample_warehouse):
            continue
        warehouse = tmp_path / keep / sample_warehouse.name
        warehouse.parent.mkdir()
        shutil.copyfile(sample_warehouse, warehouse)
        before = write_report(warehouse, tmp_path / keep / "before.html", published)
        with duckdb.connect(str(warehouse)) as con:
            schemas = con.execute(
                "select schema_name from information_schema.schemata "
                "where catalog_name = current_database() and schema_name not in "
                "('main', 'information_schema', 'pg_catalog', 'reference', ?)",
                [keep],
            ).fetchall()
            # the warehouse's other schemas (the row-level ones are in the private store)
            assert len(schemas) == 3, schemas
            for (schema,) in schemas:
                con.execute(f"drop schema {schema} cascade")
            con.execute("drop table if exists marts.data_quality_results")
        after = write_report(warehouse, tmp_path / keep / "after.html", published)
        before_text, after_text = (
            re.sub(made, "", path.read_text(encoding="utf-8")) for path in (before, after)
        )
        assert after_text == before_text, keep
        compared += 1
    assert compared


# ---------------------------------------------------------------------------------------
# In a real browser


@needs_chromium
def test_report_in_chromium(
    report_file: Path, sample_warehouse: Path, chromium: Chromium, tmp_path: Path
) -> None:
    url = report_file.as_uri()
    chromium.open(url)

    assert chromium.errors() == []
    assert chromium.requests() == [url], "the page asked for something besides itself"

    # the DOM as chromium built it: every measure's chart, each drawn with a real size
    charts = chromium.evaluate(
        "[...document.querySelectorAll('svg[data-measure]')].map(svg => {"
        " const box = svg.getBoundingClientRect();"
        " return [svg.dataset.measure, Math.round(box.width), Math.round(box.height),"
        " !!svg.querySelector('title'), !!svg.querySelector('desc')]; })"
    )
    assert [chart[0] for chart in charts] == measure_ids(sample_warehouse)
    assert len(charts) == MEASURE_COUNT
    for measure_id, width, height, has_title, has_desc in charts:
        assert width > 300 and height > 40, measure_id
        assert has_title and has_desc, measure_id
    dom = chromium.evaluate("document.documentElement.outerHTML")
    assert len(parse(dom).charts) == MEASURE_COUNT
    age_rows = chromium.evaluate(
        "[...document.querySelectorAll('#measure-age_band th[scope=row]')]"
        ".map(th => th.textContent.trim())"
    )
    assert age_rows[:2] == ["Declined", "< 18"]
    assert chromium.evaluate("document.title").startswith(
        "Kensington and Chelsea Health Trainer Service"
    )

    png = chromium.screenshot(SCREEN_WIDTH, SCREEN_HEIGHT)
    assert png_size(png) == (SCREEN_WIDTH, SCREEN_HEIGHT)
    assert len(png) < MAX_SCREENSHOT_BYTES, f"screenshot is {len(png):,} bytes"
    target = SCREENSHOT if os.environ.get("DCRS_UPDATE_SCREENSHOT") else tmp_path / SCREENSHOT.name
    target.write_bytes(png)


@needs_chromium
def test_report_prints(report_file: Path, chromium: Chromium) -> None:
    """The print layout: white background, one PDF page per A4 sheet, several pages."""
    import base64

    chromium.open(report_file.as_uri())
    chromium.send("Emulation.setEmulatedMedia", {"media": "print"})
    background = chromium.evaluate("getComputedStyle(document.body).backgroundColor")
    masthead = chromium.evaluate(
        "getComputedStyle(document.querySelector('.masthead')).backgroundColor"
    )
    assert background in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    assert masthead in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    pdf = base64.b64decode(
        chromium.send("Page.printToPDF", {"preferCSSPageSize": True}, timeout=60)["data"]
    )
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= 5, pages
    assert chromium.errors() == []


# ---------------------------------------------------------------------------------------
# The published (disclosure-controlled) variant


@pytest.fixture(scope="module")
def published_warehouse(sample_warehouse: Path) -> Path:
    if not has_published_schema(sample_warehouse):
        pytest.skip(
            "the warehouse has no published schema (published.measure_breakdown and the "
            "other disclosure-controlled tables come from models/published)"
        )
    return sample_warehouse


def test_published_variant(published_warehouse: Path, tmp_path: Path) -> None:
    out = write_report(published_warehouse, tmp_path / "published.html", published=True)
    page = out.read_text(encoding="utf-8")
    text = text_of(page)
    assert "Published version: disclosure controlled." in text
    assert "Counts of 1 to 7 are suppressed and shown as *" in text
    # complementary suppression (docs/disclosure.md): signposting "Not required", 38
    assert "A few larger counts are suppressed too" in text
    assert "Exact counts" not in text
    # the period's start is the service's start date, published (docs/decisions.md)
    assert "Period 12 March 2010 to 31 August 2010 (6 calendar months, 173 days)" in text
    # the projection by days and its interval come from the published count (115)
    assert "By days of operation (173 days): 243 (95% exact Poisson interval 200 to 291)" in text
    assert len(parse(page).charts) == MEASURE_COUNT
    assert_self_contained(page)
    # 4 clients declined to give their age: suppressed, with no percent or interval;
    # 24 of 115 aged 26 - 35 are published as 25 of 115, with the interval of 25 of 115
    age = text[text.index("Table 7.1.2") : text.index("Table 7.1.3")]
    assert "Declined * * 8.0%" in age
    assert "26 - 35 25 21.7% 15.2 to 30.1 15.7% similar to England" in age
    assert "Not charted (excluded from the denominator): Not recorded (*), Invalid (0)." in age
    assert_disclosure_controlled(page, _exact_counts(published_warehouse))


@needs_chromium
def test_published_variant_in_chromium(
    published_warehouse: Path, chromium: Chromium, tmp_path: Path
) -> None:
    out = write_report(published_warehouse, tmp_path / "published.html", published=True)
    chromium.open(out.as_uri())
    assert chromium.errors() == []
    assert chromium.requests() == [out.as_uri()]
    counts = chromium.evaluate(
        "[...document.querySelectorAll('.count')].map(span => span.textContent)"
    )
    assert counts and all(value == "*" or int(value.replace(",", "")) % 5 == 0 for value in counts)
    assert (
        chromium.evaluate("document.querySelectorAll('svg[data-measure]').length") == MEASURE_COUNT
    )
