"""The service manager's report: one self-contained HTML file per service and extract.

``write_report`` reads a published warehouse (opened read-only) and writes a single HTML
file with inline CSS and inline SVG charts drawn here in Python: no scripts, no fonts,
images or style sheets from anywhere else, so it opens offline, prints on A4 and can be
emailed as it is. It follows section 7.1 of the 2010 evaluation: the headline figures
against the service's targets first, then every measure (reference.measures, in order)
as a chart of the service beside its benchmark with the 95% confidence interval, a table
and a plain-words comparison, then data capture with its month-on-month trend and the
London comparison.

``published=True`` reads the ``published`` schema instead of ``marts``: counts there are
disclosure controlled (1 to 7 suppressed and shown as ``*``, others rounded to the nearest
5) and the page says so. Nothing the published variant prints is an exact count.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from dcrs.alerts import field_label

ASSETS = Path(__file__).with_name("report_assets")

# Disclosure control (measures.md; dbt_project.yml vars disclosure_suppress_max and
# disclosure_rounding_base): used to describe the rule, and to control the data-capture
# history, which has no published table of its own.
DEFAULT_SUPPRESS_MAX = 7
DEFAULT_ROUNDING_BASE = 5

# london_comparison figures whose service value is a count, and how each figure is printed
LONDON_COUNTS = {"total_clients", "total_phps"}
LONDON_DECIMALS = {
    "total_clients": 0,
    "total_health_trainers": 0,
    "total_phps": 0,
    "php_to_client_ratio": 2,
}

COMPARISON_COLOURS = {
    "higher": "#003087",  # NHS dark blue
    "similar": "#8a9ba8",  # grey-blue
    "lower": "#41b6e6",  # NHS light blue
    None: "#005eb8",  # NHS blue: no benchmark
}
TARGET_WARD_COLOUR = "#003087"
OTHER_WARD_COLOUR = "#7fb2e0"
BENCHMARK_COLOUR = "#ed8b00"  # NHS orange
TEXT_COLOUR = "#212b32"
MUTED_COLOUR = "#4c6272"


class ReportError(Exception):
    """The warehouse holds nothing to report for the service or extract asked for."""


# ---------------------------------------------------------------------------------------
# Formatting


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return int(round(float(value)))


def _number(value: Any, decimals: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):,.{decimals}f}"


def _percent(value: Any, decimals: int = 1) -> str:
    return "—" if value is None else f"{float(value):.{decimals}f}%"


def _long_date(value: dt.date | str) -> str:
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return f"{value.day} {value:%B %Y}"


def _short_date(value: dt.date) -> str:
    return f"{value:%b %Y}"


@dataclass(frozen=True)
class Counts:
    """How counts are printed: exactly, or (published) as the published tables hold them."""

    published: bool

    def text(self, value: Any, display: Any = None) -> str:
        """A count as text: ``display`` (e.g. ``*``) when given and the value is hidden."""
        number = _int(value)
        if number is None:
            if display not in (None, ""):
                return str(display)
            return "*" if self.published else "—"
        return f"{number:,}"

    def html(self, value: Any, display: Any = None) -> Markup:
        """A count wrapped so that tests (and readers of the source) can find every count."""
        return Markup('<span class="count">{}</span>').format(self.text(value, display))

    def percent(self, value: Any, suppressed: bool = False) -> str:
        if suppressed or (value is None and self.published):
            return "*"
        return _percent(value)


# ---------------------------------------------------------------------------------------
# What the report shows


@dataclass
class CategoryRow:
    category: str
    order: int
    n: int | None
    n_html: Markup
    denominator: int | None
    percent: float | None
    ci_lower: float | None
    ci_upper: float | None
    benchmark_percent: float | None
    comparison: str | None
    suppressed: bool
    excluded: bool
    target_ward: bool = False
    percent_text: str = ""
    ci_text: str = ""
    comparison_text: str = ""


@dataclass
class MeasureView:
    measure_id: str
    order: int
    report_table: str
    title: str
    unit_plural: str
    population: str
    benchmark_label: str | None  # in a sentence: "England", "the borough population"
    benchmark_name: str | None  # as named in the warehouse
    benchmark_source: str | None
    rows: list[CategoryRow]
    denominator_html: Markup
    summary: Markup
    chart: Markup
    excluded: list[CategoryRow]
    higher: int = 0
    lower: int = 0

    @property
    def anchor(self) -> str:
        return f"measure-{self.measure_id}"

    @property
    def has_benchmark(self) -> bool:
        return self.benchmark_label is not None

    @property
    def benchmark_heading(self) -> str:
        """The benchmark's column heading: ``England`` or ``Borough``."""
        if self.benchmark_name in (None, "England"):
            return self.benchmark_name or ""
        return (
            "Borough"
            if (self.benchmark_name or "").endswith("population")
            else (self.benchmark_name or "")
        )


@dataclass
class Headline:
    label: str
    value: Markup
    detail: Markup
    status: str | None = None  # "below", "met" or None
    status_text: str = ""
    gauge: Markup = Markup("")


@dataclass
class CaptureRow:
    field: str
    label: str
    population: str
    recorded_html: Markup
    total_html: Markup
    percent_text: str
    threshold_text: str
    passed: bool | None
    previous_text: str
    sparkline: Markup


@dataclass
class LondonRow:
    figure: str
    service: Markup
    london: str
    first_year: str
    six_month: str


@dataclass
class Report:
    service_code: str
    service_name: str
    extract_date: dt.date
    export_name: str | None
    generated: str
    published: bool
    suppress_max: int
    rounding_base: int
    months: int | None
    first_registration: str | None
    headlines: list[Headline]
    headline_notes: list[Markup]
    measures: list[MeasureView]
    capture: list[CaptureRow]
    capture_summary: Markup
    capture_extracts: list[str]
    london: list[LondonRow]
    london_period: str | None
    london_service_heading: str
    warehouse_name: str


# ---------------------------------------------------------------------------------------
# Reading the warehouse


def _rows(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] = ()) -> list[dict]:
    cursor = con.execute(sql, list(parameters))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ? and table_catalog = current_database()",
        [schema, table],
    ).fetchone()
    return bool(found and found[0])


def _disclosure_rule() -> tuple[int, int]:
    """The threshold and rounding base from dbt_project.yml, where it can be read."""
    try:
        import yaml

        from dcrs.pipeline import PROJECT_DIR

        variables = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
        return (
            int(variables.get("disclosure_suppress_max", DEFAULT_SUPPRESS_MAX)),
            int(variables.get("disclosure_rounding_base", DEFAULT_ROUNDING_BASE)),
        )
    except (OSError, KeyError, TypeError, ValueError, ImportError):
        return DEFAULT_SUPPRESS_MAX, DEFAULT_ROUNDING_BASE


def control(count: int | None, suppress_max: int, base: int) -> int | None:
    """Disclosure control of one count: 0 stays 0, 1 to suppress_max is suppressed (None),
    anything else is rounded to the nearest ``base`` (halves up)."""
    if count is None or 1 <= count <= suppress_max:
        return None
    return int(math.floor(count / base + 0.5)) * base


def _select_extract(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    service_code: str | None,
    extract_date: str | None,
) -> tuple[str, dt.date]:
    conditions, parameters = [], []
    if service_code is not None:
        conditions.append("service_code = ?")
        parameters.append(service_code)
    if extract_date is not None:
        conditions.append("extract_date = ?::date")
        parameters.append(extract_date)
    where = f"where {' and '.join(conditions)}" if conditions else ""
    found = con.execute(
        f"select service_code, extract_date from {schema}.service_summary {where} "
        "order by service_code, extract_date desc limit 1",
        parameters,
    ).fetchone()
    if found is None:
        wanted = ", ".join(
            part
            for part in (
                f"service {service_code}" if service_code else "",
                f"extract {extract_date}" if extract_date else "",
            )
            if part
        )
        raise ReportError(f"{schema}.service_summary has no figures for {wanted or 'any service'}")
    return found[0], found[1]


# ---------------------------------------------------------------------------------------
# Charts: inline SVG


def _nice_maximum(value: float) -> tuple[float, list[float]]:
    """The axis maximum and its ticks for values up to ``value`` percent."""
    for maximum, step in ((10, 2), (20, 5), (30, 10), (40, 10), (50, 10), (60, 20), (80, 20)):
        if value <= maximum:
            return maximum, [step * i for i in range(int(maximum / step) + 1)]
    return 100, [0, 25, 50, 75, 100]


def _fmt(value: float) -> str:
    """A coordinate: short, and stable across runs."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _truncate(label: str, limit: int = 38) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def measure_chart(
    measure_id: str,
    title: str,
    description: str,
    rows: list[CategoryRow],
    benchmark_label: str | None,
) -> str:
    """Horizontal bars (service percent) with a 95% CI whisker and a benchmark diamond."""
    width, label_width, value_width = 900, 250, 64
    row_height, top, bottom = 24, 30, 10
    plot_left, plot_right = label_width + 10, width - value_width - 12
    charted = [row for row in rows if not row.excluded]
    height = top + max(len(charted), 1) * row_height + bottom
    values = [
        value
        for row in charted
        for value in (row.percent, row.ci_upper, row.benchmark_percent)
        if value is not None and not (row.suppressed and value is row.ci_upper)
    ]
    maximum, ticks = _nice_maximum(max(values, default=0.0))

    def x(value: float) -> float:
        return plot_left + (plot_right - plot_left) * min(max(value, 0.0), maximum) / maximum

    ident = f"chart-{measure_id}"
    parts = [
        f'<svg class="chart" data-measure="{_esc(measure_id)}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">',
        f'<title id="{ident}-title">{_esc(title)}</title>',
        f'<desc id="{ident}-desc">{_esc(description)}</desc>',
    ]
    # zebra stripes, then gridlines and the axis labels along the top
    for index in range(0, len(charted), 2):
        y = top + index * row_height
        parts.append(
            f'<rect class="stripe" x="0" y="{y}" width="{width}" height="{row_height}" '
            'fill="#f0f4f5"/>'
        )
    for tick in ticks:
        tick_x = _fmt(x(tick))
        parts.append(
            f'<line x1="{tick_x}" y1="{top - 4}" x2="{tick_x}" y2="{height - bottom}" '
            f'stroke="{"#aeb7bd" if tick == 0 else "#d8dde0"}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{tick_x}" y="{top - 10}" text-anchor="middle" font-size="12" '
            f'fill="{MUTED_COLOUR}">{tick:g}%</text>'
        )
    parts.append(
        f'<text x="{width - 4}" y="{top - 10}" text-anchor="end" font-size="11" '
        f'font-weight="bold" fill="{MUTED_COLOUR}">Percent</text>'
    )
    if not charted or all(row.percent is None and not row.suppressed for row in charted):
        parts.append(
            f'<text x="{(plot_left + plot_right) / 2:.0f}" y="{top + row_height - 8}" '
            f'text-anchor="middle" font-size="13" fill="{MUTED_COLOUR}">'
            "No one in this measure's population yet</text>"
        )
    for index, row in enumerate(charted):
        y = top + index * row_height
        middle = y + row_height / 2
        tooltip = f"{row.category}: {row.percent_text}"
        if row.ci_text:
            tooltip += f" (95% CI {row.ci_text})"
        if row.benchmark_percent is not None and benchmark_label:
            tooltip += f"; {benchmark_label} {row.benchmark_percent:.1f}%"
        if row.comparison_text:
            tooltip += f"; {row.comparison_text}"
        parts.append(f'<g class="bar-row"><title>{_esc(tooltip)}</title>')
        weight = ' font-weight="bold"' if row.target_ward else ""
        parts.append(
            f'<text x="{label_width}" y="{_fmt(middle + 4)}" text-anchor="end" font-size="13" '
            f'fill="{TEXT_COLOUR}"{weight}>{_esc(_truncate(row.category))}</text>'
        )
        if row.percent is not None and not row.suppressed:
            outline = ""
            if measure_id == "ward":
                colour = TARGET_WARD_COLOUR if row.target_ward else OTHER_WARD_COLOUR
            elif benchmark_label and row.benchmark_percent is None:
                # a category with no benchmark, in a measure that has one: an open bar
                colour, outline = "#ffffff", f' stroke="{COMPARISON_COLOURS["similar"]}"'
            else:
                colour = COMPARISON_COLOURS.get(row.comparison, COMPARISON_COLOURS[None])
            bar_width = max(x(row.percent) - plot_left, 0.0)
            parts.append(
                f'<rect x="{plot_left}" y="{_fmt(middle - 7)}" width="{_fmt(bar_width)}" '
                f'height="14" fill="{colour}"{outline}/>'
            )
            if row.ci_lower is not None and row.ci_upper is not None:
                low, high = _fmt(x(row.ci_lower)), _fmt(x(row.ci_upper))
                whisker = (
                    f"M{low} {_fmt(middle)}H{high}M{low} {_fmt(middle - 5)}V{_fmt(middle + 5)}"
                    f"M{high} {_fmt(middle - 5)}V{_fmt(middle + 5)}"
                )
                # a white halo keeps the whisker visible across a dark bar
                parts.append(
                    f'<path d="{whisker}" stroke="#ffffff" stroke-width="3.5" fill="none" '
                    'stroke-opacity="0.85"/>'
                    f'<path class="ci" d="{whisker}" stroke="{TEXT_COLOUR}" stroke-width="1.4" '
                    'fill="none"/>'
                )
        if row.benchmark_percent is not None:
            centre, size = x(row.benchmark_percent), 6
            parts.append(
                f'<path class="benchmark" d="M{_fmt(centre)} {_fmt(middle - size)}'
                f"L{_fmt(centre + size)} {_fmt(middle)}L{_fmt(centre)} {_fmt(middle + size)}"
                f'L{_fmt(centre - size)} {_fmt(middle)}Z" fill="{BENCHMARK_COLOUR}" '
                f'stroke="{TEXT_COLOUR}" stroke-width="1"/>'
            )
        parts.append(
            f'<text x="{width - 4}" y="{_fmt(middle + 4)}" text-anchor="end" font-size="13" '
            f'fill="{TEXT_COLOUR}">{_esc(row.percent_text)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(
    field_name: str, points: list[tuple[dt.date, float | None]], threshold: float | None
) -> str:
    """A small line of a field's capture percent by extract date, threshold dashed.

    The scale runs up to 100% from a round number below the lowest value and threshold,
    so that a change of a few points shows."""
    width, height, pad = 132, 30, 4
    known = [value for _, value in points if value is not None]
    count = len(points)
    lowest = min([*known, *([threshold] if threshold is not None else [])], default=0.0)
    floor = max(0.0, math.floor((lowest - 5) / 10) * 10)

    def x(index: int) -> float:
        return pad + (width - 2 * pad) * (index / (count - 1) if count > 1 else 0.5)

    def y(value: float) -> float:
        share = (min(max(value, floor), 100.0) - floor) / (100.0 - floor)
        return pad + (height - 2 * pad) * (1 - share)

    text = "; ".join(
        f"{_short_date(date)}: {'*' if value is None else f'{value:.1f}%'}"
        for date, value in points
    )
    parts = [
        f'<svg class="sparkline" data-field="{_esc(field_name)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{_esc(field_label(field_name))} captured, by extract: {_esc(text)} "
        f"(scale {floor:g}% to 100%)</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f0f4f5"/>',
    ]
    if threshold is not None:
        parts.append(
            f'<line x1="{pad}" x2="{width - pad}" y1="{_fmt(y(threshold))}" '
            f'y2="{_fmt(y(threshold))}" stroke="{BENCHMARK_COLOUR}" stroke-width="1" '
            'stroke-dasharray="3 2"/>'
        )
    indexed = [(index, value) for index, (_, value) in enumerate(points) if value is not None]
    if len(indexed) > 1:
        path = "".join(
            f"{'M' if position == 0 else 'L'}{_fmt(x(index))} {_fmt(y(value))}"
            for position, (index, value) in enumerate(indexed)
        )
        parts.append(f'<path d="{path}" stroke="#005eb8" stroke-width="1.5" fill="none"/>')
        parts.extend(
            f'<circle cx="{_fmt(x(index))}" cy="{_fmt(y(value))}" r="1.6" fill="#005eb8"/>'
            for index, value in indexed[:-1]
        )
    if known:
        index, value = indexed[-1]
        below = threshold is not None and value < threshold
        parts.append(
            f'<circle cx="{_fmt(x(index))}" cy="{_fmt(y(value))}" r="3" '
            f'fill="{"#d5281b" if below else "#005eb8"}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def gauge(
    value: float | None,
    target: float | None,
    maximum: float,
    label: str,
    extra: float | None = None,
) -> str:
    """A thin progress bar: ``value`` filled, ``extra`` (a projection) hatched, target tick."""
    width, height = 240, 18
    if maximum <= 0:
        return ""

    def x(amount: float) -> float:
        return width * min(max(amount, 0.0), maximum) / maximum

    parts = [
        f'<svg class="gauge" role="img" viewBox="0 0 {width} {height + 4}" width="{width}" '
        f'height="{height + 4}" preserveAspectRatio="none"><title>{_esc(label)}</title>',
        f'<rect x="0" y="4" width="{width}" height="{height - 6}" fill="#e8edee"/>',
    ]
    if extra is not None:
        parts.append(
            f'<rect x="0" y="4" width="{_fmt(x(extra))}" height="{height - 6}" fill="#a4c8ea"/>'
        )
    if value is not None:
        parts.append(
            f'<rect x="0" y="4" width="{_fmt(x(value))}" height="{height - 6}" fill="#005eb8"/>'
        )
    if target is not None:
        target_x = _fmt(min(x(target), width - 1.5))
        parts.append(
            f'<line x1="{target_x}" x2="{target_x}" y1="0" y2="{height + 2}" '
            f'stroke="{TEXT_COLOUR}" stroke-width="3" vector-effect="non-scaling-stroke"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------
# Building the views


def _benchmark_words(benchmark_name: str | None) -> str | None:
    if benchmark_name is None:
        return None
    if benchmark_name == "England":
        return "England"
    if benchmark_name.endswith("population"):
        return "the borough population"
    return benchmark_name


def _comparison_words(comparison: str | None, benchmark: str | None) -> str:
    if comparison is None or benchmark is None:
        return ""
    if comparison == "similar":
        return f"similar to {benchmark}"
    return f"{comparison} than {benchmark}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _measure_summary(
    rows: list[CategoryRow],
    benchmark: str | None,
    unit_plural: str,
    denominator_html: Markup,
    denominator_suppressed: bool,
) -> Markup:
    charted = [row for row in rows if not row.excluded]
    if denominator_suppressed:
        return Markup("Too few {} in this measure's population to publish.").format(unit_plural)
    if not charted or all(row.percent is None and not row.suppressed for row in charted):
        return Markup("No {} in this measure's population yet.").format(unit_plural)
    if benchmark is not None and any(row.comparison for row in charted):
        sentences = []
        for word in ("higher", "lower"):
            chosen = [row for row in charted if row.comparison == word]
            if chosen:
                listed = _join(
                    [
                        f"{row.category} ({row.percent_text} against {row.benchmark_percent:.1f}%)"
                        for row in chosen
                    ]
                )
                sentences.append(
                    Markup("<strong>Significantly {} than {}:</strong> {}.").format(
                        word, benchmark, listed
                    )
                )
        if not sentences:
            return Markup("No category differs significantly from {}.").format(benchmark)
        rest = [
            row for row in charted if row.comparison == "similar" or row.benchmark_percent is None
        ]
        if rest:
            unbenchmarked = any(row.benchmark_percent is None for row in rest)
            sentences.append(
                Markup("Other categories are similar to {}{}.").format(
                    benchmark, " or have no benchmark" if unbenchmarked else ""
                )
            )
        return Markup(" ").join(sentences)
    ranked = [row for row in charted if row.percent is not None and not row.suppressed]
    if not ranked:
        return Markup("Every category is suppressed in the published figures.")
    top = max(ranked, key=lambda row: (row.percent, -row.order))
    return Markup("Most common: <strong>{}</strong>, {} ({} of {} {}).").format(
        top.category, top.percent_text, top.n_html, denominator_html, unit_plural
    )


def _ward_summary(figures: dict[str, Any], counts: Counts) -> Markup:
    """Clients from the target wards (in bold in the chart) against the service's target."""

    def count(name: str) -> Markup:
        return counts.html(figures.get(name), figures.get(f"{name}_display"))

    return Markup(
        "<strong>Target wards:</strong> {} of {} clients ({}), {} of the {} with a ward "
        "recorded, against a target of {}."
    ).format(
        count("clients_in_target_wards"),
        count("clients_registered"),
        counts.percent(figures.get("target_ward_percent_of_all")),
        counts.percent(figures.get("target_ward_percent_of_recorded")),
        count("clients_with_ward_recorded"),
        _percent(figures.get("target_ward_percent_target"), 0),
    )


def _measure_views(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    service_code: str,
    extract_date: dt.date,
    counts: Counts,
    summary_figures: dict[str, Any],
) -> list[MeasureView]:
    measures = _rows(con, "select * from reference.measures order by measure_order")
    breakdown = _rows(
        con,
        f"select * from {schema}.measure_breakdown where service_code = ? and extract_date = ? "
        "order by measure_id, category_order",
        [service_code, extract_date],
    )
    excluded_categories = {
        (row["measure_id"], row["category"])
        for row in _rows(
            con,
            "select measure_id, category from reference.measure_categories "
            "where excluded_from_denominator",
        )
    }
    target_wards: set[str] = set()
    if _has_table(con, "marts", "ward"):
        target_wards = {
            row["category"]
            for row in _rows(
                con,
                "select category from marts.ward where service_code = ? and extract_date = ? "
                "and is_target_ward",
                [service_code, extract_date],
            )
        }
    sources = {
        row["measure_id"]: row["period"]
        for row in _rows(
            con,
            "select measure_id, min(period) as period from reference.benchmarks group by 1",
        )
    }
    by_measure: dict[str, list[dict]] = {}
    for row in breakdown:
        by_measure.setdefault(row["measure_id"], []).append(row)

    views = []
    for measure in measures:
        measure_id = measure["measure_id"]
        records = by_measure.get(measure_id, [])
        benchmark_name = measure.get("benchmark_name") or next(
            (r["benchmark_name"] for r in records if r.get("benchmark_name")), None
        )
        benchmark = _benchmark_words(benchmark_name)
        rows = []
        for record in records:
            suppressed = bool(record.get("is_suppressed")) or (
                counts.published and record.get("n") is None
            )
            excluded = (measure_id, record["category"]) in excluded_categories or (
                not counts.published and record.get("denominator") is None
            )
            row = CategoryRow(
                category=record["category"],
                order=record["category_order"],
                n=_int(record.get("n")),
                n_html=counts.html(record.get("n"), record.get("n_display")),
                denominator=_int(record.get("denominator")),
                percent=record.get("percent"),
                ci_lower=None if suppressed else record.get("ci_lower"),
                ci_upper=None if suppressed else record.get("ci_upper"),
                benchmark_percent=record.get("benchmark_percent"),
                comparison=None if suppressed else record.get("comparison"),
                suppressed=suppressed,
                excluded=excluded,
                target_ward=measure_id == "ward" and record["category"] in target_wards,
            )
            if row.excluded:
                row.percent_text = "excluded"
            else:
                row.percent_text = counts.percent(row.percent, row.suppressed)
            if row.ci_lower is not None and row.ci_upper is not None and not row.excluded:
                row.ci_text = f"{row.ci_lower:.1f} to {row.ci_upper:.1f}"
            row.comparison_text = _comparison_words(row.comparison, benchmark)
            rows.append(row)
        # the denominator is the same on every category it applies to
        counted = next(
            (record for record, row in zip(records, rows, strict=True) if not row.excluded), {}
        )
        denominator = counted.get("denominator")
        denominator_suppressed = counts.published and bool(counted) and denominator is None
        unit_plural = "goals" if measure["unit"] == "goal" else "clients"
        denominator_html = counts.html(denominator, counted.get("denominator_display"))
        summary = _measure_summary(
            rows, benchmark, unit_plural, denominator_html, denominator_suppressed
        )
        if measure_id == "ward":
            summary = _ward_summary(summary_figures, counts) + Markup(" ") + summary
        description = Markup(summary).striptags()
        chart_title = (
            f"{measure['title']}: percent of {unit_plural} in each category with its 95% "
            "confidence interval" + (f", beside {benchmark}" if benchmark else "")
        )
        views.append(
            MeasureView(
                measure_id=measure_id,
                order=measure["measure_order"],
                report_table=measure["report_table"],
                title=measure["title"],
                unit_plural=unit_plural,
                population=measure["population"],
                benchmark_label=benchmark,
                benchmark_name=benchmark_name,
                benchmark_source=sources.get(measure_id),
                rows=rows,
                denominator_html=denominator_html,
                summary=summary,
                chart=Markup(measure_chart(measure_id, chart_title, description, rows, benchmark)),
                excluded=[row for row in rows if row.excluded],
                higher=sum(1 for row in rows if row.comparison == "higher"),
                lower=sum(1 for row in rows if row.comparison == "lower"),
            )
        )
    return views


def _benchmark_total(
    con: duckdb.DuckDBPyConnection, measure_id: str, categories: Iterable[str]
) -> float | None:
    wanted = list(categories)
    found = con.execute(
        "select sum(benchmark_percent), count(*) from reference.benchmarks "
        "where measure_id = ? and list_contains(?, category)",
        [measure_id, wanted],
    ).fetchone()
    if not found or found[1] != len(wanted):
        return None
    return float(found[0])


def _headlines(
    con: duckdb.DuckDBPyConnection,
    summary: dict[str, Any],
    london: dict[str, dict],
    counts: Counts,
) -> tuple[list[Headline], list[Markup]]:
    def count(name: str) -> Markup:
        return counts.html(summary.get(name), summary.get(f"{name}_display"))

    def value(name: str) -> Any:
        return summary.get(name)

    cards = []
    registered, target = value("clients_registered"), value("year_one_client_target")
    projected = value("projected_clients_12_months")
    months = value("months_of_operation")
    card = Headline(
        label="Clients registered",
        value=count("clients_registered"),
        detail=Markup(
            "in {} months. At this rate <strong>{}</strong> in the first 12 months, "
            "against a year-one target of <strong>{}</strong>."
        ).format(_number(months), _number(projected, 0), _number(target, 0)),
    )
    if projected is not None and target:
        met = projected >= target
        card.status = "met" if met else "below"
        card.status_text = (
            "On course for the target"
            if met
            else f"Projected {100 * projected / target:.0f}% of the target"
        )
        card.gauge = Markup(
            gauge(
                registered,
                target,
                max(target, projected) * 1.05,
                f"Registered {counts.text(registered)}; projected {projected:.0f}; target {target}",
                extra=projected,
            )
        )
    cards.append(card)

    per_wte, per_wte_target = value("clients_per_wte"), value("target_clients_per_wte")
    projected_per_wte = value("projected_clients_per_wte_12_months")
    card = Headline(
        label="Clients per WTE health trainer",
        value=Markup(_number(per_wte)),
        detail=Markup(
            "{} health trainers in post, {} WTE. Projected <strong>{}</strong> in 12 months; "
            "the year-one target asks for <strong>{}</strong>."
        ).format(
            _number(_int(value("health_trainers_in_post"))),
            _number(value("total_wte")),
            _number(projected_per_wte),
            _number(per_wte_target),
        ),
    )
    if projected_per_wte is not None and per_wte_target:
        met = projected_per_wte >= per_wte_target
        card.status = "met" if met else "below"
        card.status_text = "On course for the target" if met else "Below the target's rate"
        card.gauge = Markup(
            gauge(
                per_wte,
                per_wte_target,
                max(per_wte_target, projected_per_wte) * 1.05,
                f"{per_wte:.1f} clients per WTE; projected {projected_per_wte:.1f}; "
                f"target {per_wte_target:.1f}",
                extra=projected_per_wte,
            )
        )
    cards.append(card)

    ratio = value("php_to_client_ratio")
    london_ratio = london.get("php_to_client_ratio", {}).get("london_services")
    card = Headline(
        label="Personal Health Plan to client ratio",
        value=Markup(_number(ratio, 2)),
        detail=Markup("{} of {} clients have a PHP ({} PHPs per WTE).").format(
            count("clients_with_php"), count("clients_registered"), _number(value("phps_per_wte"))
        ),
    )
    if london_ratio is not None:
        card.detail += Markup(" London services: {}.").format(_number(london_ratio, 2))
    cards.append(card)

    of_all, of_recorded = (
        value("target_ward_percent_of_all"),
        value("target_ward_percent_of_recorded"),
    )
    ward_target = value("target_ward_percent_target")
    card = Headline(
        label="Clients from target wards",
        value=Markup(counts.percent(of_all)),
        detail=Markup(
            "of all clients ({} of {}); <strong>{}</strong> of clients with a ward recorded "
            "({} of {}). Target: <strong>{}</strong>."
        ).format(
            count("clients_in_target_wards"),
            count("clients_registered"),
            counts.percent(of_recorded),
            count("clients_in_target_wards"),
            count("clients_with_ward_recorded"),
            _percent(ward_target, 0),
        ),
    )
    if of_recorded is not None and ward_target is not None:
        met = of_recorded >= ward_target
        card.status = "met" if met else "below"
        card.status_text = "Target met" if met else f"{ward_target - of_recorded:.1f} points short"
        card.gauge = Markup(
            gauge(
                of_recorded,
                ward_target,
                100,
                f"{of_recorded:.1f}% of clients with a ward recorded; target {ward_target:g}%",
            )
        )
    cards.append(card)

    deprived = value("most_deprived_two_quintiles_percent")
    england_deprived = _benchmark_total(con, "deprivation_quintile", ["Q1 - Most deprived", "Q2"])
    card = Headline(
        label="Clients from the two most deprived quintiles",
        value=Markup(counts.percent(deprived)),
        detail=Markup("{} of {} clients.").format(
            count("clients_in_two_most_deprived_quintiles"), count("clients_registered")
        ),
    )
    if england_deprived is not None:
        card.detail += Markup(" England: <strong>{}</strong>.").format(_percent(england_deprived))
        if deprived is not None:
            card.gauge = Markup(
                gauge(
                    deprived,
                    england_deprived,
                    100,
                    f"{deprived:.1f}%; England {england_deprived:.1f}%",
                )
            )
    cards.append(card)

    achieved = value("goals_achieved_or_part_percent")
    england_achieved = _benchmark_total(con, "goal_outcome", ["Achieved", "Part Achieved"])
    card = Headline(
        label="Goals achieved or part achieved",
        value=Markup(counts.percent(achieved)),
        detail=Markup("{} of {} goals with an outcome ({} goals set).").format(
            count("goals_achieved_or_part"), count("goals_with_outcome"), count("goals_set")
        ),
    )
    if england_achieved is not None:
        card.detail += Markup(" England: <strong>{}</strong>.").format(_percent(england_achieved))
        if achieved is not None:
            card.gauge = Markup(
                gauge(
                    achieved,
                    england_achieved,
                    100,
                    f"{achieved:.1f}%; England {england_achieved:.1f}%",
                )
            )
    cards.append(card)

    notes = [
        Markup("{} women and {} men; {} clients eligible for the service.").format(
            count("women"), count("men"), count("eligible_clients")
        ),
    ]
    return cards, notes


def _capture_rows(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    service_code: str,
    extract_date: dt.date,
    counts: Counts,
    rule: tuple[int, int],
) -> tuple[list[CaptureRow], list[dt.date]]:
    current = _rows(
        con,
        f"select * from {schema}.data_capture where service_code = ? and extract_date = ? "
        "order by field_order",
        [service_code, extract_date],
    )
    history: list[dict] = []
    # the check history holds exact counts; a published copy of it, if the pipeline makes
    # one, is used as it is, and otherwise its counts are controlled here
    history_schema = "marts"
    if counts.published and _has_table(con, "published", "data_quality_results"):
        history_schema = "published"
    if _has_table(con, history_schema, "data_quality_results"):
        # the results at each extract date, up to the one reported
        history = _rows(
            con,
            f"""
            select extract_date, field, recorded, total, observed_value, threshold
            from {history_schema}.data_quality_results
            where suite = 'data_capture' and service_code = ? and extract_date <= ?
            order by extract_date
            """,
            [service_code, extract_date],
        )
    extracts = sorted({row["extract_date"] for row in history} | {extract_date})
    by_field: dict[str, dict[dt.date, float | None]] = {}
    for row in history:
        percent = row["observed_value"]
        if counts.published and history_schema == "marts":
            # control the counts, and compute the percent from them, as measures.md asks
            recorded = control(_int(row["recorded"]), *rule)
            total = control(_int(row["total"]), *rule)
            percent = 100 * recorded / total if recorded is not None and total else None
        by_field.setdefault(row["field"], {})[row["extract_date"]] = percent

    rows = []
    for record in current:
        name = record["field"]
        series = by_field.get(name, {})
        points = [(date, series.get(date)) for date in extracts]
        if extract_date not in series:
            points[-1] = (extract_date, record.get("percent"))
        earlier = [value for date, value in points[:-1] if date in series]
        previous = earlier[-1] if earlier else None
        passed = record.get("meets_threshold")
        rows.append(
            CaptureRow(
                field=name,
                label=field_label(name),
                population=record["population"],
                recorded_html=counts.html(record.get("recorded"), record.get("recorded_display")),
                total_html=counts.html(record.get("total"), record.get("total_display")),
                percent_text=counts.percent(record.get("percent")),
                threshold_text=_percent(record.get("threshold_percent"), 0),
                passed=passed,
                previous_text=("none" if not earlier else counts.percent(previous)),
                sparkline=Markup(sparkline(name, points, record.get("threshold_percent"))),
            )
        )
    return rows, extracts


def _capture_summary(rows: list[CaptureRow]) -> Markup:
    below = [row for row in rows if row.passed is False]
    if not below:
        return Markup("Every field meets its standard.")
    listed = _join([f"{row.label} ({row.percent_text})" for row in below])
    return Markup("<strong>{} of {} fields are below their standard:</strong> {}.").format(
        len(below), len(rows), listed
    )


def _london(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    service_code: str,
    extract_date: dt.date,
    counts: Counts,
) -> tuple[list[LondonRow], str | None, dict[str, dict]]:
    records = _rows(
        con,
        f"select * from {schema}.london_comparison where service_code = ? and extract_date = ? "
        "order by figure_order",
        [service_code, extract_date],
    )
    rows = []
    for record in records:
        figure_id = record["figure_id"]
        decimals = LONDON_DECIMALS.get(figure_id, 1)
        if figure_id in LONDON_COUNTS:
            service = counts.html(record.get("service_value"), record.get("service_value_display"))
        else:
            service = Markup(_number(record.get("service_value"), decimals))
        rows.append(
            LondonRow(
                figure=record["figure"],
                service=service,
                london=_number(record.get("london_services"), decimals),
                first_year=_number(record.get("london_first_year_services"), decimals),
                six_month=_number(record.get("london_six_month_service"), decimals),
            )
        )
    period = next((record.get("london_period") for record in records), None)
    return rows, period, {record["figure_id"]: record for record in records}


# ---------------------------------------------------------------------------------------
# The report


def build_report(
    con: duckdb.DuckDBPyConnection,
    warehouse_name: str,
    published: bool = False,
    service_code: str | None = None,
    extract_date: str | None = None,
) -> Report:
    """Everything the page shows, read from an open (read-only) warehouse connection."""
    schema = "published" if published else "marts"
    needed = ["measure_breakdown", "service_summary", "data_capture", "london_comparison"]
    missing = [table for table in needed if not _has_table(con, schema, table)]
    if missing:
        hint = " (the published schema is built by the models in models/published)"
        raise ReportError(
            f"the warehouse has no {', '.join(f'{schema}.{table}' for table in missing)}"
            + (hint if published else "")
        )
    counts = Counts(published)
    rule = _disclosure_rule()
    service_code, extract = _select_extract(con, schema, service_code, extract_date)
    summary = _rows(
        con,
        f"select * from {schema}.service_summary where service_code = ? and extract_date = ?",
        [service_code, extract],
    )[0]
    export_name = None
    if _has_table(con, "staging", "stg_dcrs__manifests"):  # a view: no counts, no paths shown
        found = con.execute(
            "select export_dir from staging.stg_dcrs__manifests "
            "where service_code = ? and extract_date = ?",
            [service_code, extract],
        ).fetchone()
        export_name = Path(found[0]).name if found and found[0] else None
    london_rows, london_period, london = _london(con, schema, service_code, extract, counts)
    headlines, notes = _headlines(con, summary, london, counts)
    capture, extracts = _capture_rows(con, schema, service_code, extract, counts, rule)
    first = summary.get("first_registration_date")
    months = _int(summary.get("months_of_operation"))
    short_name = summary.get("service_name") or service_code
    for suffix in (" Health Trainer Service", " Health Trainer service"):
        short_name = short_name.removesuffix(suffix)
    now = dt.datetime.now().astimezone()
    return Report(
        service_code=service_code,
        service_name=summary.get("service_name") or service_code,
        extract_date=extract,
        export_name=export_name,
        generated=f"{_long_date(now.date())} at {now:%H:%M} {now:%Z}".rstrip(),
        published=published,
        suppress_max=rule[0],
        rounding_base=rule[1],
        months=months,
        first_registration=_long_date(first) if first else None,
        headlines=headlines,
        headline_notes=notes,
        measures=_measure_views(con, schema, service_code, extract, counts, summary),
        capture=capture,
        capture_summary=_capture_summary(capture),
        capture_extracts=[_long_date(date) for date in extracts],
        london=london_rows,
        london_period=london_period,
        london_service_heading=(f"{short_name} ({months} months)" if months else short_name),
        warehouse_name=warehouse_name,
    )


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(ASSETS),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(report: Report) -> str:
    """The page as one HTML string, with the style sheet inlined."""
    environment = _environment()
    css = (ASSETS / "report.css").read_text(encoding="utf-8")
    template = environment.get_template("report.html.j2")
    return template.render(report=report, css=Markup(css), long_date=_long_date)


def write_report(
    warehouse: Path,
    out: Path,
    published: bool = False,
    service_code: str | None = None,
    extract_date: str | None = None,
) -> Path:
    """Write a self-contained HTML report for one service and extract (default: the latest
    extract of the only/first service) from the warehouse (opened read-only).
    published=True reads the `published` schema (disclosure-controlled) and says so on the
    page."""
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise ReportError(f"no warehouse at {warehouse}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        report = build_report(con, warehouse.name, published, service_code, extract_date)
    page = render_report(report)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, out)
    return out
