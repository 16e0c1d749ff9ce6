"""The ``dcrs`` command line."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer._click._textwrap

from dcrs import failures, settings
from dcrs.locking import DEFAULT_WAIT_SECONDS

if TYPE_CHECKING:
    from dcrs.summary import RunSummary


class _WholeWords(typer._click._textwrap.TextWrapper):
    """The help text's wrapper (typer's copy of click's), breaking lines only between
    words: its default also breaks inside hyphenated names (report-/published.html)."""

    def __init__(self, *arguments: Any, **options: Any) -> None:
        super().__init__(*arguments, **{**options, "break_on_hyphens": False})


# typer._click.formatting.wrap_text imports the wrapper from _textwrap at each call
typer._click._textwrap.TextWrapper = _WholeWords  # type: ignore[misc]

# Help is click's plain formatter (rich_markup_mode=None): it reflows each paragraph to
# the terminal's width (at most 80 columns), where typer's rich panels keep the source's
# line breaks (ragged at 80 columns) and label every flag <bool>.
app = typer.Typer(
    help=(
        "Reporting pipeline for NHS Health Trainer services: turns a DCRS export into the "
        "measures of the service evaluation, with benchmarks, confidence intervals and "
        "data-capture figures, in a DuckDB warehouse (schema `marts`)."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

EXIT_STATUSES = """Exit statuses: 0 published; 1 an unexpected error (details in the log file
beside the warehouse, X.duckdb.log); 2 the export cannot be trusted; 3 a model or data test
failed; 4 published, but an alert could not be delivered (it waits in the outbox and the next
run sends it); 5 another run held the warehouse longer than --wait; 6 the warehouse was built
by another version of the models (see `dcrs rebuild`); 7 another program holds the warehouse
open for writing; 8 the warehouse's folder cannot be written; 9 (`dcrs check-freshness`
only) a service's extract is late. On any failure before publishing, the published
warehouse and its outputs are left as they were."""

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


WaitOption = Annotated[
    float,
    typer.Option(
        help="Seconds to wait for another run of the same warehouse to end.",
        min=0,
    ),
]


VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        help="Also print dbt's output as it runs (it always goes to the log file beside "
        "the warehouse, X.duckdb.log).",
    ),
]


DATE_FORMS = {
    re.compile(r"\d{4}-\d{2}-\d{2}"): "%Y-%m-%d",
    re.compile(r"\d{1,2}/\d{1,2}/\d{4}"): "%d/%m/%Y",
}


def parse_date(value: str | dt.date) -> dt.date:
    """A date given as YYYY-MM-DD or, as people in England write it, D/M/YYYY (31/08/2010,
    1/9/2010); anything else is a usage error (exit 2) naming both forms."""
    if isinstance(value, dt.date):
        return value
    text = value.strip()
    for pattern, form in DATE_FORMS.items():
        if pattern.fullmatch(text):
            try:
                return dt.datetime.strptime(text, form).date()
            except ValueError:
                break  # the right form, but no such day (31/02/2010)
    raise typer.BadParameter(f"{value!r} is not a date: give YYYY-MM-DD or D/M/YYYY (31/08/2010)")


def _project() -> Path:
    try:
        return settings.project_dir()
    except settings.ProjectNotFound as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error


def _warehouse(warehouse: Path | None) -> Path:
    """The warehouse a command works on, after finishing any release a killed run left
    half done (dcrs.release.recover)."""
    from dcrs.release import recover

    chosen = warehouse if warehouse is not None else _project() / settings.DEFAULT_WAREHOUSE
    chosen = chosen.resolve()
    try:
        done = recover(chosen)
    except Exception as error:
        _fail(error, chosen)
    if done:
        typer.echo(done)
    return chosen


def _fail(error: BaseException, warehouse: Path) -> typer.Exit:
    """Report a failed command in a few lines, its traceback in the log file, and exit
    with the error's documented status."""
    failure = failures.describe(error)
    typer.secho(failure.message, fg=typer.colors.RED, err=True)
    if failure.after:
        typer.secho(failure.after, err=True)
    if failure.status == failures.EXIT_UNEXPECTED:
        logged = failures.log_traceback(warehouse, error)
        where = f"the details are in {logged}" if logged else "no log file could be written"
        typer.secho(f"This is a fault in the pipeline: {where}.", err=True)
    elif failure.status in failures.LOGGED:
        failures.log_traceback(warehouse, error)
    raise typer.Exit(failure.status) from error


@app.command(
    epilog=EXIT_STATUSES, short_help="Load an export, build, test, check quality, publish."
)
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
    wait: WaitOption = DEFAULT_WAIT_SECONDS,
    verbose: VerboseOption = False,
) -> None:
    """Load an export, build and test every model, check data quality, publish.

    The Great Expectations suites (data capture, validity, structure) run inside the dbt
    build; their results are kept for every extract in marts.data_quality_results, and
    Data Docs are written to the folder data_docs beside the warehouse. The service's
    managers get one email, with the report attached: the checks that failed, or that all
    passed; a failed run emails the data engineer (settings DCRS_SMTP_HOST,
    DCRS_SMTP_PORT, DCRS_ALERT_FROM, DCRS_ALERT_TO, DCRS_ALERT_TO_<CODE>, DCRS_ENGINEER_TO,
    DCRS_REPORT_URL, DCRS_SMTP_USER, DCRS_SMTP_PASSWORD: docs/operations.md).

    The warehouse X.duckdb and its outputs (the folder X beside it: report.html,
    report-published.html, parquet, data_docs) are published together, or not at all.

    Rows that cannot be used, and values that count as Invalid, are listed in the
    warehouse's table audit.load_issues (file, line, column, reason; the values only in
    the private store's audit.load_issue_values);
    audit.load_reconciliation shows rows read = rows staged + rows rejected per file.

    It prints one line per step, then a summary; dbt's whole output goes to the log file
    beside the warehouse (X.duckdb.log), and the part that says what failed is printed
    when the build fails.
    """
    chosen = _warehouse(warehouse)
    export = export if export is not None else _project() / settings.SAMPLE_EXPORT
    try:
        summary = _run_one(export, chosen, wait, verbose)
    except Exception as error:
        _forget_or_remember(export, chosen, error)
        _fail(error, chosen)
    _forget_or_remember(export, chosen, None)
    _print_summary(summary)


def _forget_or_remember(export: Path, warehouse: Path, error: Exception | None) -> None:
    """An explicit run records its refusal (so the inbox does not retry it unchanged) or
    forgets an earlier one."""
    from dcrs import inbox

    if not (export / "manifest.json").is_file():
        return
    if error is None and not inbox.read_refusals(warehouse):
        return  # nothing to forget: no need to read the export again
    try:
        checksum = inbox.export_checksum(export.resolve())
        if error is None:
            inbox.forget_refusal(warehouse, checksum)
        elif isinstance(error, inbox.REFUSALS):
            inbox.remember_refusal(warehouse, export.resolve(), checksum, error)
    except OSError:
        pass  # the run's own outcome matters more; the inbox then tries it again


@app.command(epilog=EXIT_STATUSES, short_help="Run every new export in an inbox, oldest first.")
def run_inbox(
    inbox: Annotated[
        Path,
        typer.Option(
            help="Folder whose subfolders hold DCRS exports (of any services and months).",
            file_okay=False,
        ),
    ],
    warehouse: WarehouseOption = None,
    wait: WaitOption = DEFAULT_WAIT_SECONDS,
    verbose: VerboseOption = False,
) -> None:
    """Run every export in the inbox that the warehouse does not hold yet, oldest extract
    first: what a monthly schedule calls, with no folder name to edit each month.

    Each export is one `dcrs run` (see `dcrs run --help`), on its own: an export that is
    refused (exit 2 or 3 of `dcrs run`) is reported and the next one runs. A refused
    export is remembered by a checksum of its files and not tried again (nor its failure
    email sent again) until its files change; `dcrs run --export` tries it regardless.
    Alerts a crash or a mail outage left in the outbox are sent.

    Exits 0 when every new export was published; otherwise with the status of the first
    new export refused (2 or 3), or 4 when an alert could not be delivered; statuses 5 to
    8 and 1 as `dcrs run`, which also stop the inbox.
    """
    from dcrs.inbox import run_inbox as run_every_export
    from dcrs.pipeline import deliver_pending

    chosen = _warehouse(warehouse)

    def run_one(export: Path) -> None:
        _print_summary(_run_one(export, chosen, wait, verbose))

    try:
        outcome = run_every_export(inbox, chosen, run_one, echo=typer.echo)
        if not (outcome.loaded or outcome.refused):
            for line in deliver_pending(chosen, typer.echo, wait):
                typer.echo(line)
    except Exception as error:
        _fail(error, chosen)
    typer.echo("")
    typer.echo(
        f"Inbox {inbox}: {len(outcome.loaded)} published, {len(outcome.skipped)} already in "
        f"the warehouse, {len(outcome.refused)} refused, {len(outcome.refused_before)} "
        "refused earlier (files unchanged)"
    )
    for folder in outcome.loaded:
        typer.echo(f"  published: {folder}")
    for folder in outcome.skipped:
        typer.echo(f"  already in the warehouse: {folder}")
    for folder, error in outcome.refused:
        failure = failures.describe(error)
        typer.secho(f"  refused: {folder}: {failure.message.splitlines()[0]}", fg=typer.colors.RED)
    for folder, reason in outcome.refused_before:
        typer.echo(f"  refused earlier: {folder}: {reason}")
    for folder, error in outcome.alert_failures:
        typer.secho(f"  published, alert not delivered: {folder}: {error}", fg=typer.colors.RED)
    if outcome.refused:
        raise typer.Exit(failures.describe(outcome.refused[0][1]).status)
    if outcome.alert_failures:
        raise typer.Exit(failures.EXIT_ALERT_NOT_DELIVERED)


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
    verbose: VerboseOption = False,
) -> None:
    """Build the warehouse anew from the kept exports, and swap it in.

    Needed when the models change the columns of the tables that keep every extract (the
    warehouse's schema version, checked by every run, then differs). Every export in the
    inbox is loaded, oldest extract first, into a new warehouse beside the old one; the
    new one replaces it only when every export has loaded, and only when the inbox holds
    every extract the old warehouse held. No alerts are sent for the replayed extracts.
    Exits as `dcrs run` does, and 2 when an extract of the old warehouse is missing.
    """
    from dcrs.console import StepDisplay
    from dcrs.rebuild import MissingExports, rebuild_warehouse

    chosen = _warehouse(warehouse)
    try:
        display = StepDisplay(verbose)
        summaries = rebuild_warehouse(
            inbox,
            chosen,
            echo=display.echo,
            run_options={
                "step": display,
                "dbt_output": display.dbt_output,
                "dbt_progress": display.dbt_progress,
            },
        )
    except MissingExports as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        typer.secho("Nothing was rebuilt; the warehouse was left as it was.", err=True)
        raise typer.Exit(failures.EXIT_UNTRUSTED_EXPORT) from error
    except Exception as error:
        _fail(error, chosen)
    typer.secho(f"Rebuilt {chosen} from {len(summaries)} export(s).", fg=typer.colors.GREEN)


def _run_one(export: Path, warehouse: Path, wait: float, verbose: bool) -> RunSummary:
    """One run, shown one line per step (dcrs.console)."""
    from dcrs.console import StepDisplay
    from dcrs.pipeline import run as run_pipeline

    display = StepDisplay(verbose)
    display.echo(f"Export {export.resolve()}")
    return run_pipeline(
        export,
        warehouse,
        echo=display.echo,
        step=display,
        wait_seconds=wait,
        dbt_output=display.dbt_output,
        dbt_progress=display.dbt_progress,
    )


def _print_summary(summary: RunSummary) -> None:
    from dcrs.summary import summary_lines

    first, *rest = summary_lines(summary)
    typer.echo("")
    typer.secho(first, fg=typer.colors.GREEN)
    for line in rest:
        typer.echo(line)


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
        typer.Option(
            help="HTML file to write (default: report.html, or report-published.html, in "
            "the current folder; the published reports in the folder beside the warehouse "
            "change only with a run)."
        ),
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
        str | None,
        typer.Option(
            help="Service code (default: the warehouse's service; needed when the "
            "warehouse holds more than one)."
        ),
    ] = None,
    extract_date: Annotated[
        dt.date | None,
        typer.Option(
            parser=parse_date,
            metavar="<date>",
            help="Extract date, YYYY-MM-DD or D/M/YYYY (default: the latest).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the monthly HTML report for the service manager.

    One self-contained file that works offline and prints well. Every run also publishes
    it for the latest extract (report.html and, disclosure controlled,
    report-published.html) in the folder beside the warehouse (X/ for X.duckdb).
    """
    from dcrs.release import PUBLISHED_REPORT, REPORT
    from dcrs.report import NothingToReport, ReportError, ServiceNotChosen, write_report
    from dcrs.warehouse import WarehouseBusy

    warehouse = _warehouse(warehouse)
    if out is None:
        out = Path(PUBLISHED_REPORT if published else REPORT)
    try:
        written = write_report(
            warehouse,
            out,
            published,
            service,
            extract_date.isoformat() if extract_date else None,
        )
    except ServiceNotChosen as error:
        typer.secho(f"Cannot write the report: {error}.", fg=typer.colors.RED, err=True)
        raise typer.Exit(failures.EXIT_UNTRUSTED_EXPORT) from error
    except NothingToReport as error:  # a mistake in the command's options
        typer.secho(f"Cannot write the report: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(failures.EXIT_UNTRUSTED_EXPORT) from error
    except OSError as error:
        typer.secho(f"Cannot write the report: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(failures.EXIT_CANNOT_WRITE) from error
    except ReportError as error:
        typer.secho(f"Cannot write the report: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(failures.EXIT_UNEXPECTED) from error
    except WarehouseBusy as error:
        _fail(error, warehouse)
    typer.echo(f"Wrote {written}")


FRESHNESS_STATUSES = """Exit statuses: 0 every service's extract is on time; 9 a service's next
extract is late (its alert sent); 4 an alert could not be delivered (it waits in the outbox,
and the next command sends it); 2 no such warehouse, or DCRS_FRESHNESS_DAYS is not a number
of days; 1, 5 and 7 as `dcrs run`."""


@app.command(epilog=FRESHNESS_STATUSES, short_help="Say, per service, whether its extract is late.")
def check_freshness(
    warehouse: Annotated[
        Path | None,
        typer.Option(
            help="The published warehouse to check (default: warehouse/dcrs.duckdb).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    today: Annotated[
        dt.date | None,
        typer.Option(
            parser=parse_date,
            metavar="<date>",
            help="Check as on this day, YYYY-MM-DD or D/M/YYYY (default: today).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Say, for each service of the warehouse, whether its next extract is late, and
    email the late ones' managers and the data engineer.

    A service's next extract (for the month after its latest one) is due by that month's
    end plus DCRS_FRESHNESS_DAYS days (default 7): after a January extract, the February
    one is late from 8 March. Each service is checked on its own. One line per service;
    a late service's email is sent once per due date (remembered in X.duckdb.freshness.json
    beside the warehouse), but the command reports it late every day until its extract is
    loaded. Run it daily (the Prefect deployment `freshness` does).
    """
    from dcrs.freshness import FreshnessConfigError, NoWarehouse, check

    chosen = _warehouse(warehouse)
    try:
        outcome = check(chosen, today or dt.date.today(), echo=typer.echo)
    except (FreshnessConfigError, NoWarehouse) as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(failures.EXIT_UNTRUSTED_EXPORT) from error
    except Exception as error:
        _fail(error, chosen)
    if outcome.late:
        typer.secho(
            f"{len(outcome.late)} of {len(outcome.services)} service(s) late: "
            + ", ".join(service.service_code for service in outcome.late),
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(failures.EXIT_EXTRACT_LATE)


@app.command(short_help="Write synthetic DCRS exports for benchmarks and tests.")
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
