"""The inbox a monthly schedule reads: every export not yet in the warehouse is run, oldest
extract first, each on its own.

One export's outcome never decides another's: a refused export (it cannot be trusted, or
its build failed) is reported and the next one runs. A refusal is remembered, by a
checksum of the export's files, in ``X.duckdb.refused.json`` beside the warehouse: the
next runs list it without loading it again or re-sending its failure email, until its
files change (a corrected download). ``dcrs run --export`` always tries an export again,
and forgets its refusal when it succeeds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from dcrs.build import BuildError
from dcrs.export_contract import EXPORT_FILES, MANIFEST_FILE
from dcrs.load import ExportError, read_manifest
from dcrs.pipeline import AlertNotDelivered
from dcrs.warehouse import loaded_extracts

CHUNK_BYTES = 16 * 1024 * 1024
# What makes a run refuse an export: the export itself, or a model or data test failing
# on it. Anything else (another run, a disk, the warehouse's version) stops the inbox.
REFUSALS = (ExportError, BuildError)


@dataclass
class Inbox:
    """The export folders found in an inbox, sorted into what a run does with them."""

    to_load: list[Path]
    already_loaded: list[Path]


def scan_inbox(inbox: Path, warehouse: Path, include_loaded: bool = False) -> Inbox:
    """Find every export folder (one holding manifest.json) under ``inbox`` and list those
    not yet in the warehouse (every one with ``include_loaded``), oldest extract first (a
    service's extracts load in date order). An export whose manifest cannot be read is
    listed to load, last, so that its run reports the manifest's problem."""
    inbox = inbox.resolve()
    if not inbox.is_dir():
        raise ExportError(inbox, "the inbox folder does not exist")
    loaded = set() if include_loaded else loaded_extracts(warehouse)
    readable: list[tuple[dt.date, str, Path]] = []
    unreadable: list[Path] = []
    already: list[Path] = []
    for manifest_path in sorted(inbox.rglob(MANIFEST_FILE)):
        folder = manifest_path.parent
        try:
            manifest = read_manifest(folder)
        except ExportError:
            unreadable.append(folder)
            continue
        if (manifest.service_code, manifest.extract_date) in loaded:
            already.append(folder)
        else:
            readable.append((manifest.extract_date, manifest.service_code, folder))
    return Inbox(
        to_load=[folder for _, _, folder in sorted(readable)] + unreadable,
        already_loaded=already,
    )


def export_checksum(export_dir: Path) -> str:
    """SHA-256 over the export's manifest and data files (names and bytes; a missing file
    counts as missing), so that any change to a file gives a new checksum."""
    digest = hashlib.sha256()
    for name in (MANIFEST_FILE, *(export_file.file_name for export_file in EXPORT_FILES)):
        path = export_dir / name
        digest.update(name.encode() + b"\0")
        if not path.is_file():
            digest.update(b"missing\0")
            continue
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def refusals_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".refused.json")


def read_refusals(warehouse: Path) -> dict[str, dict[str, str]]:
    """The remembered refusals: checksum -> export folder, reason and when."""
    path = refusals_path(warehouse)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # unreadable: every export is tried again, which is safe
    return document if isinstance(document, dict) else {}


def _write_refusals(warehouse: Path, refusals: dict[str, dict[str, str]]) -> None:
    path = refusals_path(warehouse)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(refusals, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)


@contextlib.contextmanager
def _refusals_for_update(warehouse: Path) -> Iterator[dict[str, dict[str, str]]]:
    """The remembered refusals, to change and write back under their own lock: two
    commands that finish at once (an explicit run beside run-inbox) both keep theirs."""
    path = refusals_path(warehouse)
    with FileLock(path.with_name(path.name + ".lock")):
        refusals = read_refusals(warehouse)
        before = dict(refusals)
        yield refusals
        if refusals != before:
            _write_refusals(warehouse, refusals)


def remember_refusal(warehouse: Path, export_dir: Path, checksum: str, error: Exception) -> None:
    with _refusals_for_update(warehouse) as refusals:
        refusals[checksum] = {
            "export": str(export_dir),
            "reason": str(error).splitlines()[0] if str(error) else type(error).__name__,
            "refused_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }


def forget_refusal(warehouse: Path, checksum: str) -> None:
    with _refusals_for_update(warehouse) as refusals:
        refusals.pop(checksum, None)


@dataclass
class InboxOutcome:
    """What a run of the inbox did with each export, by folder."""

    loaded: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    refused_before: list[tuple[Path, str]] = field(default_factory=list)
    refused: list[tuple[Path, Exception]] = field(default_factory=list)
    # published, but an alert could not be delivered (it waits in the outbox)
    alert_failures: list[tuple[Path, Exception]] = field(default_factory=list)


def run_inbox(
    inbox: Path,
    warehouse: Path,
    run_one: Callable[[Path], object],
    echo: Callable[[str], None] = print,
) -> InboxOutcome:
    """Run every new export of ``inbox`` with ``run_one`` (``dcrs.pipeline.run`` as the
    CLI or the flow calls it), each on its own; report each by name. Exceptions other
    than a refusal or an undelivered alert stop the inbox and propagate."""
    found = scan_inbox(inbox, warehouse)
    outcome = InboxOutcome(skipped=found.already_loaded)
    for folder in found.already_loaded:
        echo(f"Already in the warehouse, skipped: {folder}")
    refusals = read_refusals(warehouse)
    to_run = []
    for folder in found.to_load:
        checksum = export_checksum(folder)
        if checksum in refusals:
            reason = refusals[checksum].get("reason", "")
            outcome.refused_before.append((folder, reason))
            echo(f"Refused earlier, files unchanged, not tried again: {folder} ({reason})")
        else:
            to_run.append((folder, checksum))
    if not to_run:
        echo(f"No new export in {inbox}: nothing to load.")
    else:
        echo(f"{len(to_run)} new export(s) to load, oldest first.")
    for folder, checksum in to_run:
        echo("")
        try:
            run_one(folder)
        except REFUSALS as error:
            remember_refusal(warehouse, folder, checksum, error)
            outcome.refused.append((folder, error))
            echo(f"Refused: {folder}: {str(error).splitlines()[0]}")
            continue
        except AlertNotDelivered as error:
            outcome.alert_failures.append((folder, error))
        outcome.loaded.append(folder)
        forget_refusal(warehouse, checksum)
    return outcome
