"""The monthly DCRS run as a Prefect flow.

Thin by design: it runs ``dcrs.pipeline.run``, the same code as ``dcrs run``, with each
step (load, dbt build with the quality checks, reports and Parquet files, release, alert)
as a Prefect task, and attaches a markdown artifact with the headline figures and the
data-capture checks. Only the I/O
steps (reading the export, publishing, sending the alert) are retried, and only on I/O
errors: an export that cannot be trusted fails at once.

Deployed from ``prefect.yaml`` at the repository root (see README.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from dcrs import inbox as inbox_runs
from dcrs import pipeline, prefect_runtime, release, settings
from dcrs.locking import DEFAULT_WAIT_SECONDS
from dcrs.summary import run_markdown, summary_lines

T = TypeVar("T")
IO_RETRIES = 2
IO_RETRY_DELAY_SECONDS = 10


def _retry_on_io_error(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry a task only when it failed on I/O (a file system or network error)."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:
        return False
    return False


def as_task(name: str, function: Callable[..., T], *arguments: Any, io: bool = False) -> T:
    """Run one pipeline step as a Prefect task (the flow's step runner)."""
    options: dict[str, Any] = {"name": name, "cache_policy": NONE}
    if io:
        options |= {
            "retries": IO_RETRIES,
            "retry_delay_seconds": IO_RETRY_DELAY_SECONDS,
            "retry_condition_fn": _retry_on_io_error,
        }
    return task(function, **options)(*arguments)


@flow(name="dcrs-monthly")
def monthly_dcrs_run(
    inbox: Path | None = None,
    warehouse: Path = settings.DEFAULT_WAREHOUSE,
    export_dir: Path | None = None,
    smtp_secret_block: str | None = None,
) -> list[dict[str, Any]]:
    """Load every DCRS export in the inbox that the warehouse does not hold yet (oldest
    extract first), or one given export: for each, build and test the marts, check data
    quality, publish the warehouse and alert the service manager.

    Args:
        inbox: folder whose subfolders hold the exports as they arrive (any services and
            months); a relative path is taken from the dbt project's folder. Unset, the
            worker's ``DCRS_INBOX``; there is no default.
        warehouse: the DuckDB file to publish, replaced only when a run succeeds; a
            relative path is taken from the dbt project's folder. One run at a time
            builds it: a second run waits (a Prefect global concurrency limit).
        export_dir: one export folder to load instead of scanning the inbox.
        smtp_secret_block: a Prefect Secret block holding the SMTP settings as JSON;
            unset, the worker's ``DCRS_SMTP_SECRET_BLOCK``, else the environment's
            ``DCRS_SMTP_*`` settings.
    """
    logger = get_run_logger()
    project = settings.project_dir()
    warehouse = (project / warehouse).resolve()
    if export_dir is None:
        inbox = prefect_runtime.inbox_folder(inbox)
    block = prefect_runtime.secret_block_name(smtp_secret_block)
    environment = os.environ if block is None else prefect_runtime.load_smtp_environment(block)
    if block is not None:
        logger.info(f"SMTP settings from the Secret block {block!r}")
    with (
        prefect_runtime.environment_applied(environment),
        prefect_runtime.one_run_per_warehouse(warehouse, DEFAULT_WAIT_SECONDS, logger.info),
    ):
        return _run(project, inbox, warehouse, export_dir)


def _run(
    project: Path, inbox: Path | None, warehouse: Path, export_dir: Path | None
) -> list[dict[str, Any]]:
    logger = get_run_logger()
    done = release.recover(warehouse)
    if done:
        logger.info(done)
    if export_dir is not None:
        return [_load_one(project / export_dir, warehouse)]
    assert inbox is not None
    results: list[dict[str, Any]] = []
    outcome = inbox_runs.run_inbox(
        project / inbox,
        warehouse,
        lambda export: results.append(_load_one(export, warehouse)),
        echo=logger.info,
    )
    if not (outcome.loaded or outcome.refused):
        for line in pipeline.deliver_pending(warehouse, logger.info):
            logger.info(line)
    problems = [f"refused {folder}: {error}" for folder, error in outcome.refused] + [
        f"published {folder}, alert not delivered: {error}"
        for folder, error in outcome.alert_failures
    ]
    if problems:
        raise InboxFailed("\n".join(problems))
    return results


class InboxFailed(Exception):
    """An export of the inbox was refused, or an alert could not be delivered; the other
    exports were run."""


def log_to_current_run(line: str) -> None:
    """Log a line to the run it comes from: the task run when a step (a task) is running,
    the flow run otherwise. dbt's output, printed without colour codes (dcrs.build), goes
    to the log of the `dbt build` task; all of it is also in the warehouse's log file."""
    get_run_logger().info(line)


def _load_one(export_dir: Path, warehouse: Path) -> dict[str, Any]:
    summary = pipeline.run(
        export_dir,
        warehouse,
        echo=log_to_current_run,
        step=as_task,
        dbt_output=log_to_current_run,
    )
    for line in summary_lines(summary):  # in the flow run's log too, not only the artifact
        log_to_current_run(line)
    create_markdown_artifact(
        markdown=run_markdown(summary),
        key="dcrs-run-summary",
        description=f"{summary.service_name}, extract {summary.extract_date}",
    )
    return {
        "service_code": summary.service_code,
        "extract_date": summary.extract_date,
        "warehouse": str(summary.warehouse),
        "rows_staged": summary.rows_staged,
        "rows_rejected": summary.rows_rejected,
        "failed_checks": [result.check for result in summary.failed_checks],
        "alert": summary.alert,
    }


if __name__ == "__main__":
    monthly_dcrs_run()
