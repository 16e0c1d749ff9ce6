"""Data Docs (dcrs.data_docs, dcrs.quality): no record values, and pages that render with
no network. On the sample's published Data Docs and on those of an export with hostile
values (a script for a gender, postcodes in checked fields, an impossible date of birth),
both built by the real `dcrs run`, read as files and opened in Debian's chromium with the
network off."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import re
import shutil
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest
from conftest import SAMPLE_EXPORT, connect, outputs_of, run_dcrs
from exports import read_rows, write_rows
from test_report_html import Chromium, needs_chromium

from dcrs.data_docs import GX_DARK_LOGO_URL, TEMPLATES, VENDOR, site_root
from dcrs.quality import run_name

SCRIPT = "<script>document.title='pwned'</script>"
# postcode-like values written into checked fields (not postcodes of the sample)
POSTCODE_IN_ETHNICITY = "SW1A 1AA"
POSTCODE_IN_BMI = "EC1A 1BB"
IMPOSSIBLE_BIRTH_DATE = "31/02/1950"
RUN_NAME = "KC-2010-08-31"
SUITES = (
    "data_capture.data_capture",
    "validity.clients",
    "validity.goals",
    "validity.wellbeing_scores",
    "validity.health_trainers",
    "structure.clients",
    "structure.goals",
    "structure.wellbeing_scores",
    "structure.health_trainers",
)
# GX 1.24.1's templates that ours replace, as GX ships them: when an upgrade changes one,
# compare it with ours (src/dcrs/data_docs/templates/, the commit that copied them) and
# carry the change over before updating its checksum here.
GX_TEMPLATES_REPLACED = {
    "page.j2": "e5069d47a8737ca6d6ec86c1a7842aa00f42f472a7523321e9cc0aec413ec3e1",
    "index_page.j2": "66a2fde8f842076ca82c0c01dfc3911bf0f6ee464fcbcb9dbeeb02d6420620e1",
    "js_script_imports.j2": "0966a7f75b3666c4e23bfd107e412a0c8b1286eaa66a06dc0f6aafd4df91b1fb",
    "favicon.j2": "47d28de9263c108c4f97d9af60a08567d0ed30215b59951c35e2bd3c6923c127",
    "top_navbar.j2": "9a0ddc8b6057090e45bf6de8d3cad2dbaa4c09e22d8f1e0acac1e481b7729e89",
    "cloud-footer.j2": "3934e362641fb04ac7e5a9146b422a5ff7a8208815e8fc8bec9f9192412afb6c",
}
# attributes through which a page loads something (an <a href> is a link, not an asset)
ASSET_ATTRIBUTES = {
    "script": "src",
    "link": "href",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "video": "src",
    "audio": "src",
    "embed": "src",
    "object": "data",
}


# ---------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def hostile_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with a script for a gender, postcodes for an ethnicity and a bmi (one of
    them a client's own postcode), and an impossible date of birth."""
    export = tmp_path_factory.mktemp("hostile_data_docs") / "export"
    shutil.copytree(SAMPLE_EXPORT, export)
    clients = read_rows(export, "clients.csv")
    clients[0]["gender"] = SCRIPT
    clients[1]["ethnicity"] = POSTCODE_IN_ETHNICITY
    clients[2]["bmi"] = POSTCODE_IN_BMI
    clients[3]["bmi"] = clients[3]["postcode"]
    clients[4]["date_of_birth"] = IMPOSSIBLE_BIRTH_DATE
    write_rows(export, "clients.csv", clients)
    return export


@pytest.fixture(scope="module")
def hostile_docs(hostile_export: Path) -> Path:
    warehouse = hostile_export.parent / "warehouse" / "dcrs.duckdb"
    result = run_dcrs(hostile_export, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    # the hostile values were checked, and failed the checks they are in
    with connect(warehouse) as con:
        failed = {
            row[0]
            for row in con.execute(
                "select check_id from marts.data_quality_results where not passed"
            ).fetchall()
        }
    assert {
        "validity:gender_code_list",
        "validity:ethnicity_code_list",
        "validity:bmi_is_number",
        "validity:date_of_birth",
    } <= failed
    return outputs_of(warehouse) / "data_docs"


@pytest.fixture(scope="module")
def sample_docs(sample_warehouse: Path) -> Path:
    return outputs_of(sample_warehouse) / "data_docs"


@pytest.fixture(params=["sample", "hostile"])
def docs(request: pytest.FixtureRequest) -> Path:
    return request.getfixturevalue(f"{request.param}_docs")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    chromium = Chromium(tmp_path)
    try:
        yield chromium
    finally:
        chromium.close()
    assert chromium.process.poll() is not None, "chromium is still running"


# ---------------------------------------------------------------------------------------
# Helpers


def record_values(export: Path) -> set[str]:
    """Every postcode and date of birth of the export, as written and as a page might
    show them (lower case, without the space, as an ISO date), and the hostile values."""
    values = {SCRIPT, "pwned", POSTCODE_IN_ETHNICITY, POSTCODE_IN_BMI, IMPOSSIBLE_BIRTH_DATE}
    for client in read_rows(export, "clients.csv"):
        postcode = client["postcode"].strip()
        if postcode:
            values |= {postcode, postcode.replace(" ", "")}
        birth = client["date_of_birth"].strip()
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", birth):
            day, month, year = (int(part) for part in birth.split("/"))
            values.add(birth)
            with contextlib.suppress(ValueError):  # an impossible date has no ISO form
                values.add(date(year, month, day).isoformat())
    return {value.lower() for value in values}


class AssetParser(HTMLParser):
    """What a page loads: each asset's URL, and its inline styles' url(...)s."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.assets: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = ASSET_ATTRIBUTES.get(tag)
        for name, value in attrs:
            if value and (name == wanted or name == "srcset"):
                self.assets.append(value)
            if name == "style" and value:
                self.assets += re.findall(r"url\(\s*['\"]?([^'\")]+)", value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.assets += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)


def assets_of(page: Path) -> list[str]:
    parser = AssetParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.assets


def pages_of(docs: Path) -> list[Path]:
    return sorted(path for path in docs.rglob("*.html") if "static" not in path.parts)


def validation_page(docs: Path, suite: str) -> Path:
    (page,) = (docs / "validations" / Path(*suite.split("."))).rglob("*.html")
    return page


def open_offline(browser: Chromium, page: Path) -> None:
    """Open ``page`` with the network off (every request but file: fails) and wait until
    its scripts have run and its fonts have loaded."""
    browser.open("about:blank")
    browser.send(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    browser.events.clear()
    browser.send("Page.navigate", {"url": page.as_uri()})
    browser.wait_for("Page.loadEventFired")
    browser.send(
        "Runtime.evaluate",
        {"expression": "document.fonts.ready.then(() => true)", "awaitPromise": True},
    )


def rendered(browser: Chromium) -> dict:
    """What the open page shows, as chromium laid it out."""
    return browser.evaluate(
        """(() => {
            const icon = document.querySelector('i.fas');
            const before = icon ? getComputedStyle(icon, '::before') : null;
            return {
                title: document.title,
                text: document.body.innerText,
                navbar_display: getComputedStyle(document.querySelector('nav.navbar')).display,
                icon_font: before ? before.fontFamily : null,
                icon_glyph: before ? before.content : null,
                icon_font_loaded: document.fonts.check('900 16px "Font Awesome 6 Free"'),
                logo_loaded: [...document.images].every(
                    img => img.complete && img.naturalWidth > 0),
                scripts: typeof window.jQuery + ' '
                    + typeof (window.jQuery || {fn: {}}).fn.bootstrapTable,
            };
        })()"""
    )


def assert_offline_and_clean(browser: Chromium) -> None:
    """Nothing but local files (and data: URLs in them) was asked for, and nothing failed
    or complained."""
    remote = [url for url in browser.requests() if urlsplit(url).scheme not in ("file", "data")]
    assert remote == [], "the page asked the network for these"
    failed = [
        event["params"] for event in browser.events if event["method"] == "Network.loadingFailed"
    ]
    assert failed == [], "a file the page loads is missing"
    assert browser.errors() == []


# ---------------------------------------------------------------------------------------
# Fast: the parts that need no run


@pytest.mark.fast
def test_site_root_of_each_page():
    assert site_root("SiteIndexPageRenderer", None) == ""
    # expectations/validity/clients.html
    assert site_root("ExpectationSuitePageRenderer", "validity.clients") == "../../"
    # validations/validity/clients/<run>/<time>/<batch>.html
    assert site_root("ValidationResultsPageRenderer", "validity.clients") == "../" * 5
    assert site_root("ValidationResultsPageRenderer", "a.b.c") == "../" * 6
    with pytest.raises(ValueError, match="NoSuchRenderer"):
        site_root("NoSuchRenderer", "validity.clients")


@pytest.mark.fast
def test_the_templates_we_replace_are_those_gx_ships():
    """Guard: fails when a GX upgrade changes a template ours replace (see
    GX_TEMPLATES_REPLACED), so that the change is carried over, not silently lost."""
    spec = importlib.util.find_spec("great_expectations")
    gx_templates = Path(spec.origin).parent / "render" / "view" / "templates"
    shipped = {
        name: hashlib.sha256((gx_templates / name).read_bytes()).hexdigest()
        for name in GX_TEMPLATES_REPLACED
    }
    assert shipped == GX_TEMPLATES_REPLACED
    for name in GX_TEMPLATES_REPLACED:
        assert (TEMPLATES / name).exists(), name
    # the remote image GX's stylesheet names, which dcrs_styles.j2 replaces
    assert GX_DARK_LOGO_URL in (
        gx_templates.parent / "static" / "styles" / "data_docs_default_styles.css"
    ).read_text(encoding="utf-8")


@pytest.mark.fast
def test_templates_name_only_vendored_assets():
    named = set()
    for template in TEMPLATES.glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), template.name
        named |= set(re.findall(r'\{\{ vendor \}\}([^"]+)"', text))
    assert named, "the templates name no vendored asset"
    for asset in sorted(named):
        assert (VENDOR / asset).is_file(), asset
    for folder in (path for path in VENDOR.iterdir() if path.is_dir()):
        assert {"LICENSE", "LICENSE.txt"} & {path.name for path in folder.iterdir()}, folder


@pytest.mark.fast
def test_run_name_is_the_service_and_extract_as_a_folder_name():
    with duckdb.connect() as con:
        con.execute("create schema staging")
        con.execute(
            "create table staging.stg_dcrs__manifests as "
            "select 'KC' as service_code, date '2010-08-31' as extract_date"
        )
        assert run_name(con) == RUN_NAME
        con.execute("update staging.stg_dcrs__manifests set service_code = 'K C/../x'")
        assert run_name(con) == "K_C_x-2010-08-31"


# ---------------------------------------------------------------------------------------
# The pages a run publishes


def test_no_record_value_in_any_file_of_the_data_docs(hostile_docs, hostile_export):
    values = record_values(hostile_export)
    assert len(values) > 200  # the export's postcodes and dates of birth, in their forms
    files = [path for path in hostile_docs.rglob("*") if path.is_file()]
    assert len(files) > 30
    for path in files:
        content = path.read_bytes().decode("utf-8", errors="ignore").lower()
        found = sorted(value for value in values if value in content)
        # the file's name only: never the values themselves in the message
        assert not found, f"{len(found)} record values in {path.relative_to(hostile_docs)}"
        # (the kept results, results/*.json, name the type unexpected_rows_expectation and
        # its SQL, unexpected_rows_query: the check and its query, not its rows)
        rows = r"unexpected_rows(?!_query|_expectation)"
        for key in ("partial_unexpected", "unexpected_list", rows):
            assert not re.search(key, content), f"{key} in {path.relative_to(hostile_docs)}"


def test_failed_checks_show_counts(hostile_docs):
    text = validation_page(hostile_docs, "validity.clients").read_text(encoding="utf-8")
    assert "Every recorded gender in clients.csv is in the gender code list." in text
    assert "1 unexpected values found" in text
    assert "Unexpected Value" not in text  # no table of values


def test_pages_load_nothing_from_the_network(docs):
    pages = pages_of(docs)
    assert len(pages) == 1 + 2 * len(SUITES)  # index, expectations, validations
    for page in pages:
        assets = assets_of(page)
        assert assets, page
        for asset in assets:
            parts = urlsplit(asset)
            assert not parts.scheme and not parts.netloc, f"{page.name} loads {asset}"
            local = (page.parent / parts.path).resolve()
            assert local.is_file(), f"{page.name} loads {asset}, which is not in the site"
            assert local.is_relative_to(docs.resolve())
        # no chart: vega is not vendored (scripts/vendor_data_docs_assets.py)
        assert "vegaEmbed" not in page.read_text(encoding="utf-8"), page


def test_the_run_is_named_by_service_and_extract(sample_docs):
    runs = {path.name for path in (sample_docs / "validations").glob("*/*/*")}
    assert runs == {RUN_NAME}
    assert RUN_NAME in (sample_docs / "index.html").read_text(encoding="utf-8")


def test_the_site_ships_the_vendored_assets_with_their_licences(sample_docs):
    shipped = sample_docs / "static" / "vendor"
    expected = sorted(path.relative_to(VENDOR) for path in VENDOR.rglob("*") if path.is_file())
    assert sorted(path.relative_to(shipped) for path in shipped.rglob("*") if path.is_file()) == (
        expected
    )


@needs_chromium
def test_index_renders_offline(browser, hostile_docs):
    open_offline(browser, hostile_docs / "index.html")
    page = rendered(browser)
    assert_offline_and_clean(browser)
    assert page["scripts"] == "function function"  # jQuery and bootstrap-table ran
    # the table of validations, which bootstrap-table builds from the page's data
    rows = browser.evaluate(
        "[...document.querySelectorAll('.ge-index-page-validation-results-table tbody tr')]"
        ".map(row => row.innerText)"
    )
    assert len(rows) == len(SUITES)
    for suite in SUITES:
        assert sum(suite in row for row in rows) == 1, suite
    assert all(RUN_NAME in row for row in rows)
    # bootstrap's stylesheet and Font Awesome's font, from static/vendor/
    assert page["navbar_display"] == "flex"
    assert "Font Awesome 6 Free" in page["icon_font"]
    assert page["icon_glyph"] not in ("none", "normal", "")
    assert page["icon_font_loaded"]
    assert page["logo_loaded"]
    assert page["title"] == "Data Docs created by Great Expectations"


@needs_chromium
def test_a_validation_page_renders_offline_and_runs_no_injected_script(browser, hostile_docs):
    open_offline(browser, validation_page(hostile_docs, "validity.clients"))
    page = rendered(browser)
    assert_offline_and_clean(browser)
    assert page["title"] == "Data documentation compiled by Great Expectations"
    assert "pwned" not in page["text"]
    for expected in (
        "validity.clients",
        RUN_NAME,
        "Every recorded gender in clients.csv is in the gender code list.",
        "Every recorded ethnicity in clients.csv is in the ethnicity code list.",
    ):
        assert expected in page["text"], expected
    assert re.search(r"Unsuccessful Expectations\s+4\s", page["text"])
    assert page["navbar_display"] == "flex"
    assert "Font Awesome 6 Free" in page["icon_font"]
    assert page["icon_font_loaded"]
    assert page["logo_loaded"]
    # the network really was off: a request for one of GX's CDN scripts fails
    outcome = browser.send(
        "Runtime.evaluate",
        {
            "expression": "fetch('https://cdn.jsdelivr.net/npm/vega@5', {mode: 'no-cors'})"
            ".then(() => 'fetched', () => 'failed')",
            "awaitPromise": True,
            "returnByValue": True,
        },
    )
    assert outcome["result"]["value"] == "failed"
