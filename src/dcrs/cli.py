"""The ``dcrs`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dcrs import settings
from dcrs.load import ExportError

app = typer.Typer(
    help=(
        "Reporting pipeline for NHS Health Trainer services: turns a DCRS export into the "
        "measures of the service evaluation, with benchmarks, confidence intervals and "
        "data-capture figures, in a DuckDB warehouse (schema `marts`)."
    ),
    no_args_is_help=True,
    add_completion=False,
)

EXIT_UNTRUSTED_EXPORT = 2
EXIT_BUILD_FAILED = 3
EXIT_ALERT_NOT_DELIVERED = 4
EXIT_RUN_IN_PROGRESS = 5
EXIT_SCHEMA_MISMATCH = 6

# The warehouse a run publishes: `dcrs run`, `dcrs run-inbox` and `dcrs rebuild`
WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        help="DuckDB file to publish (default: warehouse/dcrs.duckdb in the project). "
        "It is replaced only when a whole run succeeds.",
        dir_okay=False,
        show_default=False,
    ),
]


def _project() -> Path:
    try:
        return settings.project_dir()
    except settings.ProjectNotFound as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error


def _warehouse(warehouse: Path | None) -> Path:
    return warehouse if warehouse is not None else _project() / settings.DEFAULT_WAREHOUSE


@app.command()
def run(
    export: Annotated[
        Path | None,
        typer.Option(
            help="Folder holding one DCRS export (manifest.json and four CSV files); "
            "default: the bundled sample.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Load an export, build and test every model, check data quality, publish.

    The Great Expectations suites (data capture, validity, structure) run inside the dbt
    build; their results are kept for every extract in marts.data_quality_results, and
    Data Docs are written to the folder data_docs beside the warehouse. When a check fails,
    the service manager gets one email (SMTP settings from DCRS_SMTP_HOST, DCRS_SMTP_PORT,
    DCRS_ALERT_FROM, DCRS_ALERT_TO, DCRS_SMTP_USER, DCRS_SMTP_PASSWORD).

    Exits 0 when the marts are built and published; 2 when the export cannot be trusted
    (missing file or column, unreadable manifest, row count differing from the manifest,
    undecodable file); 3 when a model or data test fails; 4 when the warehouse was
    published but the alert email could not be delivered; 5 when another run is building
    the same warehouse; 6 when the warehouse was built by another version of the models
    (see `dcrs rebuild`). On a failure before publishing the published warehouse is left
    as it was.

    Rows that cannot be used, and values that count as Invalid, are listed in the
    warehouse's table audit.load_issues (file, line, column, value, reason);
    audit.load_reconciliation shows rows read = rows staged + rows rejected per file.
    """
    _run_one(
        export if export is not None else _project() / settings.SAMPLE_EXPORT, _warehouse(warehouse)
    )


@app.command()
def run_inbox(
    inbox: Annotated[
        Path,
        typer.Option(
            help="Folder whose subfolders hold DCRS exports (of any services and months).",
            file_okay=False,
        ),
    ],
    warehouse: WarehouseOption = None,
) -> None:
    """Run every export in the inbox that the warehouse does not hold yet, oldest extract
    first: what a monthly schedule calls, with no folder name to edit each month.

    Each export is one `dcrs run` (see `dcrs run --help`); exports already loaded are
    skipped. The first export that fails stops the command, with the exit status of
    `dcrs run`; the exports before it stay published.
    """
    from dcrs.pipeline import scan_inbox

    warehouse = _warehouse(warehouse)
    try:
        found = scan_inbox(inbox, warehouse)
    except ExportError as error:
        typer.secho(f"Export cannot be trusted: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_UNTRUSTED_EXPORT) from error
    for folder in found.already_loaded:
        typer.echo(f"Already in the warehouse, skipped: {folder}")
    if not found.to_load:
        typer.echo(f"No new export in {inbox}: nothing to do.")
        return
    typer.echo(f"{len(found.to_load)} new export(s) to load, oldest first.")
    for folder in found.to_load:
        typer.echo("")
        _run_one(folder, warehouse)


@app.command()
def rebuild(
    inbox: Annotated[
        Path,
        typer.Option(
            help="Folder whose subfolders hold the kept exports of every service.",
            file_okay=False,
        ),
    ],
    warehouse: WarehouseOption = None,
) -> None:
    """Build the warehouse anew from the kept exports, and swap it in.

    Needed when the models change the columns of the tables that keep every extract (the
    warehouse's schema version, checked by every run, then differs). Every export in the
    inbox is loaded, oldest extract first, into a new warehouse beside the old one; the
    new one replaces it only when every export has loaded, and only when the inbox holds
    every extract the old warehouse held. No alerts are sent for the replayed extracts.
    Exits as `dcrs run` does, and 2 when an extract of the old warehouse is missing.
    """
    from dcrs.rebuild import MissingExports, rebuild_warehouse

    try:
        summaries = rebuild_warehouse(inbox, _warehouse(warehouse), echo=typer.echo)
    except MissingExports as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        typer.secho("Nothing was rebuilt; the warehouse was left as it was.", err=True)
        raise typer.Exit(EXIT_UNTRUSTED_EXPORT) from error
    except Exception as error:
        _exit_for(error)
        raise
    typer.secho(
        f"Rebuilt {_warehouse(warehouse)} from {len(summaries)} export(s).",
        fg=typer.colors.GREEN,
    )


def _exit_for(error: Exception) -> None:
    """Print a run's failure in one place and exit with its documented status."""
    from dcrs.build import BuildError
    from dcrs.locking import RunInProgress
    from dcrs.pipeline import AlertNotDelivered
    from dcrs.warehouse import SchemaMismatch

    if isinstance(error, RunInProgress):
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_RUN_IN_PROGRESS) from error
    if isinstance(error, SchemaMismatch):
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_SCHEMA_MISMATCH) from error
    if isinstance(error, AlertNotDelivered):
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_ALERT_NOT_DELIVERED) from error
    if isinstance(error, ExportError):
        typer.secho(f"Export cannot be trusted: {error}", fg=typer.colors.RED, err=True)
        typer.secho("Nothing was published; the last good warehouse was left as it was.", err=True)
        raise typer.Exit(EXIT_UNTRUSTED_EXPORT) from error
    if isinstance(error, BuildError):
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        typer.secho("The last good warehouse was left as it was.", err=True)
        raise typer.Exit(EXIT_BUILD_FAILED) from error


def _run_one(export: Path, warehouse: Path) -> None:
    from dcrs.pipeline import run as run_pipeline

    try:
        summary = run_pipeline(export, warehouse, echo=typer.echo)
    except Exception as error:
        _exit_for(error)
        raise

    typer.echo("")
    typer.secho(
        f"Published {summary.warehouse} ({summary.service_code}, extract "
        f"{summary.extract_date}) in {summary.seconds:.1f} s",
        fg=typer.colors.GREEN,
    )
    for item in summary.files:
        typer.echo(
            f"  {item.file_name:<22} read {item.rows_read:>8}  staged {item.rows_staged:>8}"
            f"  rejected {item.rows_rejected:>6}  ({item.encoding})"
        )
    typer.echo(
        f"  rows loaded {summary.rows_staged}, rows rejected {summary.rows_rejected}, "
        f"values counted as Invalid {summary.values_invalid}"
    )
    typer.echo(
        f"  measures built {summary.measures_built} ({summary.mart_rows} rows in "
        "marts.measure_breakdown)"
    )
    if summary.rows_rejected or summary.values_invalid:
        typer.echo("  see audit.load_issues for each rejected row and unusable value")
    failed = summary.failed_checks
    typer.echo(
        f"  quality checks {len(summary.quality)}, failed {len(failed)}"
        + (f" (Data Docs: {summary.data_docs / 'index.html'})" if summary.data_docs else "")
    )
    for result in failed:
        if result.suite == "data_capture":
            typer.echo(
                f"    {result.field}: {result.recorded} of {result.total} "
                f"({result.observed_value:.1f}%), standard {result.threshold:g}%"
            )
        else:
            typer.echo(f"    {result.check}: {result.observed_value:g} unexpected rows")
    typer.echo(f"  {summary.alert}")


@app.command()
def report(
    warehouse: Annotated[
        Path | None,
        typer.Option(
            help="The published warehouse to report on (default: warehouse/dcrs.duckdb).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="HTML file to write (default: report.html beside the warehouse)."),
    ] = None,
    published: Annotated[
        bool,
        typer.Option(
            "--published",
            help="Report from the disclosure-controlled published tables, for readers "
            "outside the service.",
        ),
    ] = False,
    service: Annotated[
        str | None, typer.Option(help="Service code (default: the warehouse's service).")
    ] = None,
    extract_date: Annotated[
        str | None, typer.Option(help="Extract date, YYYY-MM-DD (default: the latest).")
    ] = None,
) -> None:
    """Write the monthly HTML report for the service manager.

    One self-contained file that works offline and prints well. Every run also writes it
    (report.html and, disclosure controlled, report-published.html) beside the warehouse.
    """
    from dcrs.release import PUBLISHED_REPORT, REPORT
    from dcrs.report import ReportError, write_report

    warehouse = _warehouse(warehouse)
    if out is None:
        out = warehouse.with_name(PUBLISHED_REPORT if published else REPORT)
    try:
        written = write_report(warehouse, out, published, service, extract_date)
    except (ReportError, OSError) as error:
        typer.secho(f"Cannot write the report: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"Wrote {written}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the exports into.")],
    clients: Annotated[int, typer.Option(min=1, help="Clients in all, over all services.")],
    services: Annotated[int, typer.Option(min=1, help="Number of services.")] = 1,
    months: Annotated[
        int, typer.Option(min=1, help="Monthly (cumulative) exports per service.")
    ] = 1,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same files.")] = 2010,
) -> None:
    """Write synthetic DCRS exports of any size, for benchmarks and tests.

    Writes OUT/<service>/<extract date>/: one valid, cumulative export per service and
    month, generated in DuckDB.
    """
    from dcrs.generate import generate as generate_exports

    folders = generate_exports(out, clients=clients, services=services, months=months, seed=seed)
    for folder in folders:
        typer.echo(str(folder))
