"""The ``dcrs`` command line."""

from __future__ import annotations

import atexit
import gc
from pathlib import Path
from typing import Annotated

import typer

from dcrs import pipeline
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


# The warehouse a run publishes: `dcrs run` and `dcrs run-inbox`
WarehouseOption = Annotated[
    Path,
    typer.Option(
        help="DuckDB file to publish. It is replaced only when a whole run succeeds.",
        dir_okay=False,
    ),
]


@app.callback()
def main() -> None:
    """Run `dcrs COMMAND --help` for the options of each command."""
    # At exit, leave the objects of the libraries a run imports (Great Expectations, pandas,
    # scipy) to the operating system: Python's last garbage collection walks them all,
    # 0.75 s at the end of a run on the bundled sample, for memory that is freed anyway.
    atexit.register(gc.freeze)


@app.command()
def run(
    export: Annotated[
        Path,
        typer.Option(
            help="Folder holding one DCRS export (manifest.json and four CSV files).",
            file_okay=False,
        ),
    ] = pipeline.DEFAULT_EXPORT,
    warehouse: WarehouseOption = pipeline.DEFAULT_WAREHOUSE,
) -> None:
    """Load an export, build and test every model, check data quality, publish.

    Then the Great Expectations suites check data capture, validity and structure; their
    results are kept for every extract in marts.data_quality_results, and Data Docs are
    written to the folder data_docs beside the warehouse. When a check fails, the service
    manager gets one email (SMTP settings from DCRS_SMTP_HOST, DCRS_SMTP_PORT,
    DCRS_ALERT_FROM, DCRS_ALERT_TO, DCRS_SMTP_USER, DCRS_SMTP_PASSWORD).

    Exits 0 when the marts are built and published; 2 when the export cannot be trusted
    (missing file or column, unreadable manifest, row count differing from the manifest,
    undecodable file); 3 when a model or data test fails; 4 when the warehouse was
    published but the alert email could not be delivered; 5 when another run is building
    the same warehouse. On a failure before publishing the published warehouse is left as
    it was.

    Rows that cannot be used, and values that count as Invalid, are listed in the
    warehouse's table audit.load_issues (file, line, column, value, reason);
    audit.load_reconciliation shows rows read = rows staged + rows rejected per file.
    """
    _run_one(export, warehouse)


@app.command()
def run_inbox(
    inbox: Annotated[
        Path,
        typer.Option(
            help="Folder whose subfolders hold DCRS exports (of any services and months).",
            file_okay=False,
        ),
    ],
    warehouse: WarehouseOption = pipeline.DEFAULT_WAREHOUSE,
) -> None:
    """Run every export in the inbox that the warehouse does not hold yet, oldest extract
    first: what a monthly schedule calls, with no folder name to edit each month.

    Each export is one `dcrs run` (see `dcrs run --help`); exports already loaded are
    skipped. The first export that fails stops the command, with the exit status of
    `dcrs run`; the exports before it stay published.
    """
    try:
        found = pipeline.scan_inbox(inbox, warehouse)
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


def _run_one(export: Path, warehouse: Path) -> None:
    try:
        summary = pipeline.run(export, warehouse, echo=typer.echo)
    except pipeline.RunInProgress as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_RUN_IN_PROGRESS) from error
    except pipeline.AlertNotDelivered as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_ALERT_NOT_DELIVERED) from error
    except ExportError as error:
        typer.secho(f"Export cannot be trusted: {error}", fg=typer.colors.RED, err=True)
        typer.secho("Nothing was published; the last good warehouse was left as it was.", err=True)
        raise typer.Exit(EXIT_UNTRUSTED_EXPORT) from error
    except pipeline.BuildError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        typer.secho("The last good warehouse was left as it was.", err=True)
        raise typer.Exit(EXIT_BUILD_FAILED) from error

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
        Path, typer.Option(help="The published warehouse to report on.", dir_okay=False)
    ] = pipeline.DEFAULT_WAREHOUSE,
    out: Annotated[
        Path | None,
        typer.Option(help="HTML file to write (default: report.html beside the warehouse)."),
    ] = None,
    published: Annotated[
        bool,
        typer.Option(
            "--published",
            help="Apply disclosure control, for readers outside the service.",
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
    from dcrs.report import ReportError, write_report

    if out is None:
        out = warehouse.with_name(pipeline.PUBLISHED_REPORT if published else pipeline.REPORT)
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
