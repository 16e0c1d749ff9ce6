"""One run of the pipeline, step by step: load an export, ``dbt build``, write the
reports and Parquet files, release, alert the service manager.

Each step is a plain function; ``run`` calls them through a step runner, so that the CLI
(``dcrs run``) and the Prefect flow (``flows/monthly_dcrs.py``) run the same code. Where
things are made and how they are published is ``dcrs.release``; the summary of a run is
``dcrs.summary``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb

from dcrs import alerts, outbox, release, settings
from dcrs.build import DATABASE_NAME, OUTPUTS_DIR, build
from dcrs.export_contract import MANIFEST_FILE
from dcrs.load import ExportError, LoadReport, load_export, read_manifest
from dcrs.locking import DEFAULT_WAIT_SECONDS, exclusive_run
from dcrs.summary import RunSummary, read_summary
from dcrs.warehouse import check_schema_version, loaded_extracts, private_store

T = TypeVar("T")

# The warehouse file is written in DuckDB 1.5's storage format, which DuckDB 2.0 reads and
# writes too: BI tools and the DuckDB CLI still on 1.5 can then open it.
STORAGE_VERSION = "v1.5.0"


class AlertNotDelivered(Exception):
    """An alert email could not be delivered (after the warehouse was published, when a
    run succeeded); it waits in the outbox."""


def load(export_dir: Path, folder: Path, warehouse: Path) -> LoadReport:
    """Load the export into the raw schema of the build folder's private store (a copy of
    the published one, with every extract's history so far).

    Extracts of a service load in date order, so that each record's versions follow each
    other: an export older than the latest one loaded for its service is refused (the
    latest one itself may be loaded again, which changes nothing)."""
    manifest = read_manifest(export_dir)
    latest = max(
        (date for service, date in loaded_extracts(warehouse) if service == manifest.service_code),
        default=None,
    )
    if latest is not None and manifest.extract_date < latest:
        raise ExportError(
            export_dir / MANIFEST_FILE,
            f"extract_date {manifest.extract_date} is older than {latest}, the latest "
            f"extract of service {manifest.service_code} already in the warehouse; "
            "extracts load in date order (build a new warehouse to load older ones)",
        )
    # the raw tables hold every value of the export: the private store, not the warehouse
    database = str(private_store(folder / DATABASE_NAME)).replace("'", "''")
    with duckdb.connect(config={"memory_limit": settings.memory_limit()}) as con:
        con.execute(f"attach '{database}' as private (storage_version '{STORAGE_VERSION}')")
        con.execute("use private")
        return load_export(con, export_dir, temp_dir=release.temporary_folder(folder))


def write_quality_alert(summary: RunSummary, outbox_dir: Path, report: Path | None = None) -> str:
    """Write the service manager's email into the build folder's outbox (released with the
    warehouse, sent after): the failing checks, or that every check passed (unless
    ``DCRS_ALERT_ALL_PASSED`` turns that off), with ``report`` (the run's own report.html)
    attached. Returns what will happen, in words."""
    if not alerts.alerts_configured():
        return alerts.alerts_off_reason()
    attached = report.read_bytes() if report is not None and report.is_file() else None
    link = alerts.report_url()
    message = alerts.compose_quality_alert(
        summary.service_name,
        summary.service_code,
        summary.extract_date,
        str(summary.export_dir),
        summary.failed_checks,
        summary.previous_capture,
        report=attached,
        report_link=link,
    )
    kind = "quality"
    if message is None:
        if not alerts.all_passed_email_on():
            return "no alert: every check passed (DCRS_ALERT_ALL_PASSED is off)"
        message = alerts.compose_all_passed(
            alerts.Extract(summary.service_name, summary.service_code, summary.extract_date),
            str(summary.export_dir),
            len(summary.quality),
            report=attached,
            report_link=link,
        )
        kind = "passed"
    outbox.put(outbox_dir, message, kind)
    return "alert written to the outbox"


def deliver_alerts(warehouse: Path, echo: Callable[[str], None], published: bool = True) -> str:
    """Send every alert waiting in the warehouse's outbox. Returns what was sent, in
    words; raises AlertNotDelivered when an alert could not be sent (it stays in the
    outbox, and the next run sends it)."""
    folder = release.outbox_folder(warehouse)
    try:
        sent = outbox.deliver(folder, log=echo)
    except (alerts.AlertConfigError, alerts.AlertDeliveryError) as error:
        before = "The warehouse was published, but an" if published else "An"
        raise AlertNotDelivered(
            f"{before} alert to the service manager could not be delivered: {error}. "
            f"It waits in {folder} and the next run sends it."
        ) from error
    return "; ".join(sent)


def _extract_of(export_dir: Path) -> alerts.Extract | None:
    """The service and extract an export's manifest names; ``None`` when it cannot be
    read (the failure may be the manifest itself)."""
    try:
        manifest = read_manifest(export_dir)
    except Exception:  # noqa: BLE001 - any unreadable manifest: the email names the folder
        return None
    return alerts.Extract(
        manifest.service_name, manifest.service_code, manifest.extract_date.isoformat()
    )


def send_failure_alert(
    export_dir: Path, warehouse: Path, error: BaseException, echo: Callable[[str], None]
) -> str:
    """Email the data engineer that the run failed and nothing was published, with what
    to do; and the service's manager, when the manifest names the service, what it means
    for them (through the outbox, like every alert)."""
    if not alerts.alerts_configured():
        return alerts.alerts_off_reason()
    extract = _extract_of(export_dir)
    folder = release.outbox_folder(warehouse)
    message = alerts.compose_failure_alert(
        str(export_dir), str(error), str(warehouse), extract, str(release.log_file(warehouse))
    )
    outbox.put(folder, message, "failure")
    if extract is not None:
        try:
            earlier = loaded_extracts(warehouse)
        except Exception:  # noqa: BLE001 - the warehouse may be what failed
            earlier = set()
        previous = max(
            (date for service, date in earlier if service == extract.service_code), default=None
        )
        notice = alerts.compose_failure_notice(
            extract, previous.isoformat() if previous is not None else None
        )
        outbox.put(folder, notice, "failure-notice")
    return deliver_alerts(warehouse, echo, published=False)


class StepRunner(Protocol):
    """Runs one named step of the pipeline: directly (the CLI) or as a Prefect task."""

    def __call__(
        self, name: str, function: Callable[..., T], *arguments: Any, io: bool = False
    ) -> T: ...


def run_directly(name: str, function: Callable[..., T], *arguments: Any, io: bool = False) -> T:
    """The CLI's step runner: call the step."""
    return function(*arguments)


def run(
    export_dir: Path,
    warehouse: Path,
    echo: Callable[[str], None] = print,
    step: StepRunner = run_directly,
    send_alerts: bool = True,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    dbt_output: Callable[[str], None] | None = None,
    dbt_progress: Callable[[int, int], None] | None = None,
    log: Path | None = None,
) -> RunSummary:
    """Load ``export_dir``, build and test every model (with the quality checks), publish
    ``warehouse`` and its outputs as one release, and alert the service manager. ``dcrs
    run`` and the Prefect flow both run this; the flow passes a ``step`` that makes each
    step a task. Nothing is published unless every step before the release succeeds.
    Another run of the same warehouse is waited for, up to ``wait_seconds``.

    dbt's whole output goes to ``log`` (default: the warehouse's log file, ``X.duckdb.log``);
    ``dbt_output`` also gets its lines as dbt prints them, ``dbt_progress`` the nodes done
    and the nodes in all (``dcrs.build.build``)."""
    started = time.perf_counter()
    export_dir = export_dir.resolve()
    warehouse = warehouse.resolve()
    log = log if log is not None else release.log_file(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)  # with the user's own permissions
    shared_umask = settings.protect_new_files()
    with exclusive_run(warehouse, wait_seconds, echo):
        recovered = release.recover_held(warehouse)
        if recovered:
            echo(recovered)
        check_schema_version(warehouse, settings.schema_version())
        folder = release.start(warehouse)
        try:
            loaded = step("load export", load, export_dir, folder, warehouse, io=True)
            for item in loaded.files:
                if item.extra_columns:
                    echo(
                        f"{item.file_name}: extra columns ignored: " + ", ".join(item.extra_columns)
                    )
            service_code = loaded.manifest.service_code
            extract_date = loaded.manifest.extract_date.isoformat()
            step("dbt build", build, folder, log, dbt_output, dbt_progress)
            step(
                "write reports and Parquet files",
                release.write_outputs,
                folder,
                service_code,
                extract_date,
            )
            summary = step(
                "summarise",
                read_summary,
                folder / DATABASE_NAME,
                service_code,
                extract_date,
                export_dir,
            )
            alert = "no alert: alerts are not sent for this run"
            if send_alerts:
                alert = write_quality_alert(
                    summary,
                    folder / release.OUTBOX_DIR,
                    folder / OUTPUTS_DIR / release.REPORT,
                )
            summary.data_docs = step(
                "release",
                release.release,
                folder,
                warehouse,
                service_code,
                extract_date,
                shared_umask,
                io=True,
            )
        except BaseException as error:
            release.discard(folder)
            if isinstance(error, Exception) and send_alerts:
                try:
                    echo(send_failure_alert(export_dir, warehouse, error, echo))
                except Exception as alert_error:  # the run's own error matters more
                    echo(f"the failure alert could not be sent: {alert_error}")
            raise
        summary.warehouse = warehouse
        if send_alerts:
            sent = step("alert", deliver_alerts, warehouse, echo, io=True)
            summary.alert = sent or alert
        else:
            summary.alert = alert
    summary.seconds = time.perf_counter() - started
    return summary


def deliver_pending(
    warehouse: Path, echo: Callable[[str], None] = print, wait_seconds: float = DEFAULT_WAIT_SECONDS
) -> list[str]:
    """Send the alerts a crash or a mail outage left in the warehouse's outbox (with the
    warehouse's lock, so that two commands never send the same one)."""
    warehouse = warehouse.resolve()
    if not outbox.pending(release.outbox_folder(warehouse)):
        return []
    with exclusive_run(warehouse, wait_seconds, echo):
        sent = deliver_alerts(warehouse, echo, published=False)
    return [sent] if sent else []
