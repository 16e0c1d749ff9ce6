"""Every way a run can fail, as a documented exit status and a short message; the
traceback goes to a log file beside the warehouse (``X.duckdb.log``), not the terminal.

===  ===================================================================================
 0   published (and the alert, if any, delivered)
 1   an unexpected error (a fault in the pipeline): the log file has the details
 2   the export cannot be trusted (a file, column, manifest field or encoding); nothing
     was published
 3   a model or a data test failed; nothing was published
 4   the warehouse was published, but an alert could not be delivered (it waits in the
     outbox and the next run sends it)
 5   another run was building the same warehouse for longer than ``--wait``
 6   the warehouse was built by another version of the models (``dcrs rebuild``)
 7   another program holds the warehouse open for writing
 8   the warehouse's folder cannot be written (permissions, a read-only or full disk)
===  ===================================================================================
"""

from __future__ import annotations

import datetime as dt
import os
import traceback
from dataclasses import dataclass
from pathlib import Path

import duckdb

EXIT_UNEXPECTED = 1
EXIT_UNTRUSTED_EXPORT = 2
EXIT_BUILD_FAILED = 3
EXIT_ALERT_NOT_DELIVERED = 4
EXIT_RUN_IN_PROGRESS = 5
EXIT_SCHEMA_MISMATCH = 6
EXIT_WAREHOUSE_BUSY = 7
EXIT_CANNOT_WRITE = 8

# Failures whose traceback is worth keeping besides the message: the unexpected ones, and
# those of the machine or the mail server. A refused export or a waiting run is said in full
# by its message.
LOGGED = frozenset(
    {EXIT_UNEXPECTED, EXIT_ALERT_NOT_DELIVERED, EXIT_WAREHOUSE_BUSY, EXIT_CANNOT_WRITE}
)
NOTHING_PUBLISHED = "Nothing was published; the last good warehouse was left as it was."


@dataclass
class Failure:
    """What to tell the user about a failed command, and the status it exits with."""

    status: int
    message: str
    after: str = ""


def log_path(warehouse: Path) -> Path:
    from dcrs.release import log_file

    return log_file(warehouse)


def log_traceback(warehouse: Path, error: BaseException) -> Path | None:
    """Append the error's traceback to the warehouse's log file (readable by its owner
    only); None when it cannot be written."""
    path = log_path(warehouse)
    text = "".join(traceback.format_exception(error))
    stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(f"--- {stamp} ---\n{text}\n")
    except OSError:
        return None
    return path


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def describe(error: BaseException) -> Failure:
    """The exit status and message for ``error`` (see the module's table)."""
    from dcrs.build import BuildError
    from dcrs.load import ExportError
    from dcrs.locking import RunInProgress
    from dcrs.pipeline import AlertNotDelivered
    from dcrs.warehouse import SchemaMismatch, WarehouseBusy

    if isinstance(error, ExportError):
        return Failure(
            EXIT_UNTRUSTED_EXPORT, f"Export cannot be trusted: {error}", NOTHING_PUBLISHED
        )
    if isinstance(error, BuildError):
        return Failure(EXIT_BUILD_FAILED, str(error), NOTHING_PUBLISHED)
    if isinstance(error, AlertNotDelivered):
        return Failure(EXIT_ALERT_NOT_DELIVERED, str(error))
    if isinstance(error, RunInProgress):
        return Failure(EXIT_RUN_IN_PROGRESS, str(error), NOTHING_PUBLISHED)
    if isinstance(error, SchemaMismatch):
        return Failure(EXIT_SCHEMA_MISMATCH, str(error), NOTHING_PUBLISHED)
    if isinstance(error, WarehouseBusy):
        return Failure(EXIT_WAREHOUSE_BUSY, str(error), NOTHING_PUBLISHED)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return Failure(
            EXIT_CANNOT_WRITE,
            f"Cannot write the warehouse's files: {where}{error.strerror or error}",
            NOTHING_PUBLISHED,
        )
    if isinstance(error, duckdb.IOException):
        return Failure(
            EXIT_CANNOT_WRITE,
            f"Cannot write the warehouse's files: {_first_line(error)}",
            NOTHING_PUBLISHED,
        )
    return Failure(
        EXIT_UNEXPECTED,
        f"Unexpected error ({type(error).__name__}): {_first_line(error)}",
        NOTHING_PUBLISHED,
    )
