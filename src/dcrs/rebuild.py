"""``dcrs rebuild``: a new warehouse from the kept exports, swapped in for the old one.

Marts, audit, history and published tables keep every extract and cannot take a change
to their columns (dbt's ``on_schema_change: fail``; ``dcrs.warehouse`` checks the schema
version). After such a change the warehouse is rebuilt: every export in the inbox is run,
oldest extract first, into a new warehouse in a folder beside the old one, exactly as
``dcrs run`` would run it (without alerts); the new warehouse and its outputs replace the
old ones only when every export has loaded. The inbox must hold every extract the old
warehouse held, so that a rebuild never loses history.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dcrs import release, settings
from dcrs.build import OUTPUTS_DIR
from dcrs.inbox import scan_inbox
from dcrs.load import read_manifest
from dcrs.locking import exclusive_run
from dcrs.pipeline import run
from dcrs.summary import RunSummary
from dcrs.warehouse import loaded_extracts


class MissingExports(Exception):
    """The inbox lacks extracts that the warehouse holds: a rebuild would lose them."""


def exports_to_replay(inbox: Path, warehouse: Path) -> list[Path]:
    """Every export in the inbox, oldest extract first; MissingExports when an extract of
    the warehouse is not among them."""
    exports = scan_inbox(inbox, warehouse, include_loaded=True).to_load
    kept = set()
    for folder in exports:
        try:
            manifest = read_manifest(folder)
        except Exception:  # its run reports it, and the rebuild stops there
            continue
        kept.add((manifest.service_code, manifest.extract_date))
    missing = sorted(loaded_extracts(warehouse) - kept)
    if missing:
        listed = ", ".join(f"{service} {date}" for service, date in missing)
        raise MissingExports(
            f"{inbox}: holds no export of {listed}, which {warehouse} holds; put every kept "
            "export in the inbox (see docs/operations.md, 'Exports to keep')"
        )
    return exports


def rebuild_warehouse(
    inbox: Path,
    warehouse: Path,
    echo: Callable[[str], None] = print,
    run_options: dict[str, Any] | None = None,
) -> list[RunSummary]:
    """Run every export of ``inbox`` into a new warehouse and swap it in for ``warehouse``.
    A failure leaves the old warehouse as it was. ``run_options``: more arguments of
    ``dcrs.pipeline.run`` (how its steps and dbt's output are shown); dbt's output goes
    to ``warehouse``'s log file."""
    warehouse = warehouse.resolve()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_run(warehouse, echo=echo):
        release.recover_held(warehouse)
        exports = exports_to_replay(inbox.resolve(), warehouse)
        folder = release.rebuild_folder(warehouse)
        release.discard(folder)
        folder.mkdir()
        try:
            new = folder / warehouse.name
            summaries = []
            for number, export in enumerate(exports, 1):
                echo(f"Rebuilding: export {number} of {len(exports)}")
                summaries.append(
                    run(
                        export,
                        new,
                        echo=echo,
                        send_alerts=False,
                        log=release.log_file(warehouse),
                        **(run_options or {}),
                    )
                )
            if summaries:
                # laid out as a build folder, then released as a run's is
                for in_rebuild, build_layout in release.databases(folder, new):
                    os.replace(in_rebuild, build_layout)
                os.replace(release.outputs_folder(new), folder / OUTPUTS_DIR)
                last = summaries[-1]
                release.release(
                    folder,
                    warehouse,
                    last.service_code,
                    last.extract_date,
                    settings.protect_new_files(),
                )
        finally:
            release.discard(folder)
    return summaries
