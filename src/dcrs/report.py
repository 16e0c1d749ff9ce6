"""The service manager's report: one self-contained HTML file per service and extract.

``write_report`` reads the report models of a warehouse (opened read-only), renders the
Jinja2 templates in ``templates/`` and writes the page: inline CSS and inline SVG charts,
no scripts, no fonts, images or style sheets from anywhere else, so it opens offline,
prints on A4 and can be emailed as it is. It follows section 7.1 of the 2010 evaluation:
the headline figures against the service's targets first, then every measure as a chart
of the service beside its benchmark with the 95% confidence interval, its definition and
caveats, a table with the comparison at 95% and 99.8% (better / worse only where the
category's polarity is known, else higher / lower), then data capture with its trend and
the London comparison. The first screen says what needs attention this month (fields
below their standard, special causes, targets off track, widening gaps), and the headline
figures carry the month-on-month and year-to-date activity; data capture follows them.
Times on the page are Europe/London's, whatever the machine's timezone.

Every figure and verdict on the page comes from the report models (``models/marts/report``
and ``models/published/report``, built by ``macros/report.sql``); this module computes
none. ``published=True`` reads the ``published`` schema instead of ``marts``: its report
models are built from the disclosure-controlled tables alone (1 to 7 suppressed and shown
as ``*``, other counts rounded to the nearest 5; the verdicts there were decided on the
true counts and are withheld where a count is suppressed), and the page says so.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from dcrs.warehouse import open_read_only

TEMPLATES = Path(__file__).with_name("templates")
# Every time on the page is the service's: the NHS in England keeps London time.
REPORT_TIMEZONE = ZoneInfo("Europe/London")

# The models of the Monthly monitoring section (macros/report_monitoring.sql), in both
# schemas (the published ones from the controlled tables of models/published/monitoring);
# each funnel plot is drawn when the schema has its two models: the published schema has
# neither (trainer figures stay in the service; the services' funnel is computed from true
# counts, docs/decisions.md).
MONITORING_MODELS = (
    "report_spc",
    "report_spc_charts",
    "report_inequalities",
    "report_inequality_indices",
)
# The report models the page reads, in each schema; the published page also states the
# disclosure rule its tables follow.
REPORT_MODELS = (
    "report_extracts",
    "report_headlines",
    "report_measures",
    "report_measure_categories",
    "report_data_capture",
    "report_capture_trend",
    "report_london_comparison",
    "report_wellbeing_outcomes",
    "report_attention",
    "report_activity",
    *MONITORING_MODELS,
)
PUBLISHED_REPORT_MODELS = (*REPORT_MODELS, "report_disclosure_rule")
FUNNEL_MODELS = {
    "trainer_funnels": ("report_funnel_trainers", "report_funnel_trainer_limits"),
    "service_funnels": ("report_funnel_services", "report_funnel_service_limits"),
}


class ReportError(Exception):
    """The warehouse holds nothing to report for the service or extract asked for."""


class NothingToReport(ReportError):
    """The command asked for a warehouse, service or extract that is not there."""


class ServiceNotChosen(NothingToReport):
    """The warehouse holds more than one service and no service was asked for."""


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any] | None = None
) -> list[dict[str, Any]]:
    cursor = con.execute(sql, parameters or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _check_models(con: duckdb.DuckDBPyConnection, schema: str, published: bool) -> None:
    wanted = PUBLISHED_REPORT_MODELS if published else REPORT_MODELS
    found = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ?",
            [schema],
        ).fetchall()
    }
    missing = [f"{schema}.{name}" for name in wanted if name not in found]
    if missing:
        folder = "models/published/report" if published else "models/marts/report"
        raise ReportError(
            f"the warehouse has no {', '.join(missing)} (the report models in {folder}; "
            "a run with `dcrs run` builds them)"
        )


def _select_extract(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    service_code: str | None,
    extract_date: str | None,
) -> dict[str, Any]:
    """The report_extracts row of the service and extract asked for: by default the
    latest extract of the warehouse's service. A warehouse holding more than one service
    needs the service named (ServiceNotChosen lists them): the first one would be a guess."""
    conditions, parameters = [], []
    if service_code is None:
        services = [
            code
            for (code,) in con.execute(
                f"select distinct service_code from {schema}.report_extracts order by all"
            ).fetchall()
        ]
        if len(services) > 1:
            raise ServiceNotChosen(
                f"the warehouse holds {len(services)} services ({', '.join(services)}): "
                "name one with --service"
            )
    if service_code is not None:
        conditions.append("service_code = ?")
        parameters.append(service_code)
    if extract_date is not None:
        conditions.append("extract_date = ?::date")
        parameters.append(extract_date)
    where = f"where {' and '.join(conditions)}" if conditions else ""
    found = _rows(
        con,
        f"select * from {schema}.report_extracts {where} "
        "order by service_code, extract_date desc limit 1",
        parameters,
    )
    if not found:
        wanted = ", ".join(
            part
            for part in (
                f"service {service_code}" if service_code else "",
                f"extract {extract_date}" if extract_date else "",
            )
            if part
        )
        raise NothingToReport(
            f"{schema}.report_extracts has no figures for {wanted or 'any service'}"
        )
    return found[0]


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ?",
            [schema],
        ).fetchall()
    }


def _children(parents: list[dict], children: list[dict], key: str, name: str) -> list[dict]:
    """Each parent row with the list of its child rows (same ``key``) as ``name``."""
    for parent in parents:
        parent[name] = [child for child in children if child[key] == parent[key]]
    return parents


def read_report(
    con: duckdb.DuckDBPyConnection,
    published: bool = False,
    service_code: str | None = None,
    extract_date: str | None = None,
) -> dict[str, Any]:
    """What the page shows, as plain dicts and lists, from an open (read-only) warehouse."""
    schema = "published" if published else "marts"
    _check_models(con, schema, published)
    page = _select_extract(con, schema, service_code, extract_date)
    key = [page["service_code"], page["extract_date"]]

    def read(model: str, order: str) -> list[dict[str, Any]]:
        return _rows(
            con,
            f"select * from {schema}.{model} where service_code = ? and extract_date = ? "
            f"order by {order}",
            key,
        )

    measures = _children(
        read("report_measures", "measure_order"),
        read("report_measure_categories", "measure_id, category_order"),
        "measure_id",
        "categories",
    )
    capture = _children(
        read("report_data_capture", "field_order"),
        read("report_capture_trend", "field, trend_extract_date"),
        "field",
        "trend",
    )
    rule = _rows(con, "select * from published.report_disclosure_rule")[0] if published else None
    tables = _tables(con, schema)
    funnels = [name for name, models in FUNNEL_MODELS.items() if set(models) <= tables]
    return {
        "published": published,
        "page": page,
        "headlines": read("report_headlines", "card_order"),
        "measures": measures,
        "capture": capture,
        "london": read("report_london_comparison", "figure_order"),
        "wellbeing": read("report_wellbeing_outcomes", "measure_order"),
        "attention": read("report_attention", "item_order"),
        "activity": read("report_activity", "measure_order"),
        "rule": rule,
        "monitoring": _read_monitoring(read, funnels),
    }


def _grouped(rows: list[dict[str, Any]], key: str, name: str) -> list[dict[str, Any]]:
    """Rows (sorted by ``key``) grouped by ``key``: the first row of each group, with the
    group's rows as ``name``."""
    groups = [list(group) for _, group in itertools.groupby(rows, key=lambda row: row[key])]
    return [{**group[0], name: group} for group in groups]


def _read_monitoring(read: Any, funnels: list[str]) -> dict[str, Any]:
    """The Monthly monitoring section: each SPC chart with its months, each inequality
    indicator with its indices and its dimensions' groups, and each funnel plot of
    ``funnels`` (FUNNEL_MODELS) with its points and limit curves; an empty list for the
    others. ``read(model, order)`` reads the page's rows of a model."""
    charts = _children(
        read("report_spc_charts", "indicator_order"),
        read("report_spc", "indicator_id, month"),
        "indicator_id",
        "months",
    )
    groups = read("report_inequalities", "indicator_order, dimension_order, group_order")
    indicators = _grouped(groups, "indicator_id", "groups")
    for indicator in indicators:
        indicator["dimensions"] = _grouped(indicator.pop("groups"), "dimension", "groups")
    indicators = _children(
        indicators, read("report_inequality_indices", "indicator_id"), "indicator_id", "indices"
    )

    def plots(points_model: str, limits_model: str) -> list[dict[str, Any]]:
        points = _grouped(read(points_model, "indicator_order, unit_id"), "indicator_id", "points")
        limits = read(limits_model, "indicator_id, denominator")
        return _children(points, limits, "indicator_id", "limits")

    return {
        "spc": charts,
        "inequalities": indicators,
        **{name: plots(*FUNNEL_MODELS[name]) if name in funnels else [] for name in FUNNEL_MODELS},
    }


def render_report(figures: dict[str, Any], warehouse_name: str, generated: dt.datetime) -> str:
    """The page as one HTML string."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    template = environment.get_template("report.html.j2")
    return template.render(**figures, warehouse_name=warehouse_name, generated=generated)


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
        raise NothingToReport(f"no warehouse at {warehouse}")
    with open_read_only(warehouse) as con:
        figures = read_report(con, published, service_code, extract_date)
    page = render_report(figures, warehouse.name, dt.datetime.now(REPORT_TIMEZONE))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, out)
    return out
