"""What a run did, read back from the database it built: the files loaded, the headline
figures and the quality checks' results. ``run_markdown`` words it for the Prefect
artifact; the command line prints it too."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb


@dataclass
class FileSummary:
    file_name: str
    encoding: str
    rows_read: int
    rows_staged: int
    rows_rejected: int
    extra_columns: list[str]


@dataclass
class CheckResult:
    """One row of marts.data_quality_results: a Great Expectations check and its outcome."""

    suite: str  # 'data_capture' | 'validity' | 'structure'
    check: str  # short stable id, e.g. 'capture:disability', 'validity:bmi_range'
    field: str | None  # the export field it concerns, where there is one
    description: str  # one plain-English sentence of what is checked
    observed_value: float | None  # capture: percent captured (0-100); others: unexpected rows
    threshold: float | None  # capture: threshold percent; others: None (0 unexpected allowed)
    passed: bool
    recorded: int | None = None  # capture checks: units with a recorded, valid value
    total: int | None = None  # capture checks: units in the population
    population: str | None = None  # capture checks: as in the seed
    label: str | None = None  # capture checks: the field in plain words, from the seed


@dataclass
class RunSummary:
    warehouse: Path
    service_code: str
    service_name: str
    extract_date: str
    export_dir: Path
    files: list[FileSummary]
    values_invalid: int
    measures_built: int
    mart_rows: int
    headline: dict[str, Any]
    quality: list[CheckResult] = field(default_factory=list)
    previous_capture: dict[str, float] = field(default_factory=dict)
    data_docs: Path | None = None
    alert: str = ""
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(item.rows_read for item in self.files)

    @property
    def rows_staged(self) -> int:
        return sum(item.rows_staged for item in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(item.rows_rejected for item in self.files)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [result for result in self.quality if not result.passed]


def read_summary(
    database: Path, service_code: str, extract_date: str, export_dir: Path
) -> RunSummary:
    """The summary of one service's extract, from the tables dbt built."""
    key = [service_code, extract_date]
    extract = "where service_code = ? and extract_date = ?::date"
    with duckdb.connect(str(database), read_only=True) as con:
        (service_name,) = con.execute(
            f"select service_name from history.loaded_extracts {extract}", key
        ).fetchone()
        files = [
            FileSummary(*row)
            for row in con.execute(
                "select file_name, encoding, rows_read, rows_staged, rows_rejected, "
                f"extra_columns from audit.load_reconciliation {extract} order by file_name",
                key,
            ).fetchall()
        ]
        (values_invalid,) = con.execute(
            f"select count(*) from audit.load_issues {extract} "
            "and outcome = 'value counted as Invalid'",
            key,
        ).fetchone()
        measures_built, mart_rows = con.execute(
            f"select count(distinct measure_id), count(*) from marts.measure_breakdown {extract}",
            key,
        ).fetchone()
        cursor = con.execute(f"select * from marts.service_summary {extract}", key)
        headline = dict(
            zip([column[0] for column in cursor.description], cursor.fetchone(), strict=True)
        )
        quality = [
            CheckResult(*row)
            for row in con.execute(
                """
                select
                    results.suite,
                    results.check_id,
                    results.field,
                    results.description,
                    results.observed_value,
                    results.threshold,
                    results.passed,
                    results.recorded,
                    results.total,
                    results.population,
                    fields.label
                from marts.data_quality_results as results
                left join reference.data_capture_fields as fields
                    on results.suite = 'data_capture' and results.field = fields.field
                where results.service_code = ? and results.extract_date = ?::date
                order by results.check_order
                """,
                key,
            ).fetchall()
        ]
        # each capture field's percent at the service's latest earlier extract
        previous = con.execute(
            """
            select field, arg_max(percent, extract_date)
            from marts.data_capture
            where service_code = ? and extract_date < ?::date and percent is not null
            group by field
            """,
            key,
        ).fetchall()
    return RunSummary(
        warehouse=database,
        service_code=service_code,
        service_name=service_name,
        extract_date=extract_date,
        export_dir=export_dir,
        files=files,
        values_invalid=values_invalid,
        measures_built=measures_built,
        mart_rows=mart_rows,
        headline=headline,
        quality=quality,
        previous_capture=dict(previous),
    )


def summary_lines(summary: RunSummary) -> list[str]:
    """What a run did, in the lines ``dcrs run`` prints after its steps and the Prefect
    flow logs (the first line says what was published)."""
    lines = [
        f"Published {summary.warehouse} ({summary.service_code}, extract "
        f"{summary.extract_date}) in {summary.seconds:.1f} s"
    ]
    lines += [
        f"  {item.file_name:<22} read {item.rows_read:>8}  staged {item.rows_staged:>8}"
        f"  rejected {item.rows_rejected:>6}  ({item.encoding})"
        for item in summary.files
    ]
    lines.append(
        f"  rows loaded {summary.rows_staged}, rows rejected {summary.rows_rejected}, "
        f"values counted as Invalid {summary.values_invalid}"
    )
    lines.append(
        f"  measures built {summary.measures_built} ({summary.mart_rows} rows in "
        "marts.measure_breakdown)"
    )
    if summary.rows_rejected or summary.values_invalid:
        lines.append("  see audit.load_issues for each rejected row and unusable value")
    failed = summary.failed_checks
    lines.append(
        f"  quality checks {len(summary.quality)}, failed {len(failed)}"
        + (f" (Data Docs: {summary.data_docs / 'index.html'})" if summary.data_docs else "")
    )
    for result in failed:
        if result.suite == "data_capture":
            lines.append(
                f"    {result.field}: {result.recorded} of {result.total} "
                f"({result.observed_value:.1f}%), standard {result.threshold:g}%"
            )
        else:
            lines.append(f"    {result.check}: {result.observed_value:g} unexpected rows")
    lines.append(f"  {summary.alert}")
    return lines


def _number(value: Any, decimals: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{decimals}f}"


def run_markdown(summary: Any) -> str:
    """Markdown: the headline figures and the data-capture checks of one run."""
    headline = summary.headline
    rows = [
        ("Clients registered", _number(headline["clients_registered"])),
        ("Women / men", f"{headline['women']} / {headline['men']}"),
        ("Eligible clients", _number(headline["eligible_clients"])),
        ("Clients with a Personal Health Plan", _number(headline["clients_with_php"])),
        ("Goals set", _number(headline["goals_set"])),
        (
            "Health trainers in post (WTE)",
            f"{headline['health_trainers_in_post']} ({_number(headline['total_wte'])})",
        ),
        ("Clients per WTE", _number(headline["clients_per_wte"])),
        ("PHP to client ratio", _number(headline["php_to_client_ratio"], 2)),
        (
            "12-month projection: clients / PHPs",
            f"{_number(headline['projected_clients_12_months'], 0)} / "
            f"{_number(headline['projected_phps_12_months'], 0)}",
        ),
        (
            "Clients in target wards (of all / of recorded)",
            f"{_number(headline['target_ward_percent_of_all'])}% / "
            f"{_number(headline['target_ward_percent_of_recorded'])}% "
            f"(target {_number(headline['target_ward_percent_target'], 0)}%)",
        ),
        (
            "Goals achieved or part achieved",
            f"{_number(headline['goals_achieved_or_part_percent'])}%",
        ),
    ]
    lines = [
        f"# {summary.service_name}: extract {summary.extract_date}",
        "",
        f"Export `{summary.export_dir}`, published to `{summary.warehouse}`.",
        f"Rows loaded {summary.rows_staged:,}, rejected {summary.rows_rejected:,}; "
        f"values counted as Invalid {summary.values_invalid:,}.",
        "",
        "## Headline figures",
        "",
        "| figure | value |",
        "| --- | --- |",
        *[f"| {label} | {value} |" for label, value in rows],
        "",
        "## Data capture",
        "",
        "| field | population | recorded | percent | standard | last extract | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in summary.quality:
        if result.suite != "data_capture":
            continue
        previous = summary.previous_capture.get(result.field)
        lines.append(
            f"| {result.field} | {result.population} | {result.recorded} of {result.total} "
            f"| {_number(result.observed_value)}% | {_number(result.threshold, 0)}% "
            f"| {_number(previous) + '%' if previous is not None else 'none'} "
            f"| {'meets' if result.passed else '**below**'} |"
        )
    other_failures = [result for result in summary.failed_checks if result.suite != "data_capture"]
    lines += ["", "## Validity and structure", ""]
    if other_failures:
        lines += [
            f"- **{result.check}**: {result.description} "
            f"({_number(result.observed_value, 0)} unexpected)"
            for result in other_failures
        ]
    else:
        checked = sum(1 for result in summary.quality if result.suite != "data_capture")
        lines.append(f"All {checked} validity and structure checks passed.")
    lines += ["", f"Alerts: {summary.alert}"]
    return "\n".join(lines) + "\n"
