"""The release of a run: the warehouse and everything published with it change together.

The outputs of warehouse ``X.duckdb`` live in the folder ``X/`` beside it
(``report.html``, ``report-published.html``, ``parquet/``, ``data_docs/``). A run makes
all of them in a build folder, ``.X.duckdb.build`` beside the warehouse:

- ``warehouse.duckdb``: a copy of the published warehouse (aggregates only) that dbt
  builds (``dcrs.build``), and ``warehouse.private.duckdb``, a copy of its private store
  (``X.private.duckdb``: the row-level tables) that the run loads its export into;
- ``outputs/``: the new ``X/`` folder (Data Docs written by the quality checks in dbt,
  then the Parquet files and both reports, by ``write_outputs``);
- ``outbox/``: the alert for the service manager, if the run has one;
- ``tmp/``: the loader's temporary files (a transcoded export holds personal data).

Publishing is two steps. ``commit`` writes the file ``RELEASE`` into the build folder
(atomically, after everything else is complete): from then on the release *will* happen.
``complete`` then moves each part into place (the private store and the database over
the published ones, the new ``X/`` over the old, the alert into the outbox
``X.duckdb.outbox/``) and removes the
build folder; each move can be repeated. A kill before ``RELEASE`` leaves the published
release as it was; a kill after it leaves a release that ``recover`` completes. Every
``dcrs`` command that opens a warehouse calls ``recover`` first, so the warehouse, both
reports and the Parquet manifest always name the same latest extract, and ``run-inbox``
never skips an export whose release did not complete.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb

from dcrs import settings
from dcrs.build import DATA_DOCS_DIR, DATABASE_NAME, OUTPUTS_DIR
from dcrs.data_docs import RESULTS_DIR
from dcrs.locking import try_exclusive_run
from dcrs.warehouse import private_store

# What a run publishes in the outputs folder beside the warehouse.
DATA_DOCS = "data_docs"
PARQUET = "parquet"
REPORT = "report.html"
PUBLISHED_REPORT = "report-published.html"
# Parts of a build folder besides the database and the outputs.
OUTBOX_DIR = "outbox"
TEMPORARY_DIR = "tmp"
MARKER = "RELEASE"


def outputs_folder(warehouse: Path) -> Path:
    """Where the outputs of ``warehouse`` are published: ``X/`` beside ``X.duckdb``."""
    if warehouse.suffix:
        return warehouse.with_suffix("")
    return warehouse.with_name(warehouse.name + ".outputs")


def log_file(warehouse: Path) -> Path:
    """The warehouse's log file, ``X.duckdb.log``: dbt's whole output of every run and the
    traceback of every unexpected failure (``dcrs.failures``); its owner's only."""
    return warehouse.with_name(warehouse.name + ".log")


def outbox_folder(warehouse: Path) -> Path:
    """Alerts written and not yet delivered (``dcrs.alerts``' outbox)."""
    return warehouse.with_name(warehouse.name + ".outbox")


def build_folder(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.name}.build")


def rebuild_folder(warehouse: Path) -> Path:
    """The folder where ``dcrs rebuild`` builds a new warehouse, laid out as a build folder."""
    return warehouse.with_name(f".{warehouse.name}.rebuild")


def temporary_folder(folder: Path) -> Path:
    """A build folder's folder for temporary files (removed with the build folder)."""
    return folder / TEMPORARY_DIR


def start(warehouse: Path) -> Path:
    """A new build folder holding a copy of the published warehouse (if any)."""
    folder = build_folder(warehouse)
    discard(folder)
    try:
        folder.mkdir(parents=True)
        for part in (OUTPUTS_DIR, OUTBOX_DIR, TEMPORARY_DIR):
            (folder / part).mkdir()
        for published, copy in databases(folder, warehouse):
            if published.exists():
                shutil.copyfile(published, copy)
        # the quality checks' results of every earlier run: the build adds its own and
        # renders Data Docs of them all (dcrs.data_docs.keep_results), file by file, not
        # copytree, which would carry the published files' permissions into the build
        # folder: what a run writes there is its owner's only until released
        results = outputs_folder(warehouse) / DATA_DOCS / RESULTS_DIR
        kept = folder / DATA_DOCS_DIR / RESULTS_DIR
        for path in sorted(results.rglob("*")):
            copy = kept / path.relative_to(results)
            if path.is_dir():
                copy.mkdir(parents=True, exist_ok=True)
            else:
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
    except BaseException:
        discard(folder)  # a half copy on a full disk would keep the space taken
        raise
    return folder


def databases(folder: Path, warehouse: Path) -> list[tuple[Path, Path]]:
    """Each published database and its copy in the build folder: the private store
    first, so that a release never publishes a warehouse ahead of its private store."""
    return list(zip(_pair(warehouse), _pair(folder / DATABASE_NAME), strict=True))


def _pair(database: Path) -> list[Path]:
    """A database and its private store, the private store first."""
    return [private_store(database), database]


def discard(folder: Path) -> None:
    """Remove a build folder and everything in it (a failed or interrupted run's)."""
    shutil.rmtree(folder, ignore_errors=True)


def write_outputs(folder: Path, service_code: str, extract_date: str) -> None:
    """The Parquet files of the built database and its two reports, in the build folder's
    outputs (beside the Data Docs the build wrote)."""
    from dcrs.parquet import export_parquet
    from dcrs.report import write_report

    database = folder / DATABASE_NAME
    outputs = folder / OUTPUTS_DIR
    export_parquet(database, outputs / PARQUET)
    write_report(database, outputs / REPORT, False, service_code, extract_date)
    write_report(database, outputs / PUBLISHED_REPORT, True, service_code, extract_date)


def _write_durably(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (a temporary file, flushed to disk, renamed)."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _share(path: Path, umask: int) -> None:
    """Give a published aggregate (a file, or a folder and all it holds) the permissions
    the user's own umask gives new files: the run itself creates files private."""
    if path.is_dir():
        path.chmod(0o777 & ~umask)
        for child in path.iterdir():
            _share(child, umask)
    elif path.exists():
        path.chmod(0o666 & ~umask)


def _keep_private(path: Path) -> None:
    """The private store: its owner only, or also the data lead's group."""
    if not path.exists():
        return
    group = settings.private_group()
    if group is None:
        path.chmod(0o600)
        return
    import grp  # POSIX only; a group is a POSIX setting

    os.chown(path, -1, grp.getgrnam(group).gr_gid)
    path.chmod(0o640)


def commit(folder: Path, service_code: str, extract_date: str, umask: int | None = None) -> None:
    """Mark a complete build folder for release: after this, the release happens, now or
    at the next ``recover``. The aggregates (the warehouse, the outputs) get the
    permissions ``umask`` gives (by default the process's own); the private store its
    owner's, or its group's."""
    for database in _pair(folder / DATABASE_NAME):
        if database.with_name(database.name + ".wal").exists():
            duckdb.connect(str(database)).close()  # DuckDB writes its log into the file
    discard(temporary_folder(folder))
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    _share(folder / DATABASE_NAME, umask)
    _share(folder / OUTPUTS_DIR, umask)
    _keep_private(private_store(folder / DATABASE_NAME))
    _write_durably(
        folder / MARKER,
        json.dumps({"service_code": service_code, "extract_date": extract_date}) + "\n",
    )


def _replace_folder(source: Path, target: Path) -> None:
    """Put the folder ``source`` where ``target`` is. The old one is renamed away first,
    so readers see the old folder or the new, never a mix; after a kill between the two
    renames, repeating the call finishes the job."""
    retired = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(target, retired)
    os.replace(source, target)
    shutil.rmtree(retired, ignore_errors=True)


def complete(folder: Path, warehouse: Path) -> Path | None:
    """Carry out a committed release: each part of the build folder into place, then the
    build folder removed. Safe to repeat after a kill at any point. Returns the published
    Data Docs folder, if any."""
    for published, database in databases(folder, warehouse):
        if database.exists():
            os.replace(database, published)
    outputs = outputs_folder(warehouse)
    if (folder / OUTPUTS_DIR).exists():
        _replace_folder(folder / OUTPUTS_DIR, outputs)
    retired = outputs.with_name(outputs.name + ".old")
    shutil.rmtree(retired, ignore_errors=True)  # left by a kill after the second rename
    alerts = sorted((folder / OUTBOX_DIR).iterdir()) if (folder / OUTBOX_DIR).exists() else []
    if alerts:
        outbox_folder(warehouse).mkdir(exist_ok=True)
    for alert in alerts:
        os.replace(alert, outbox_folder(warehouse) / alert.name)
    discard(folder)
    docs = outputs / DATA_DOCS
    return docs if docs.exists() else None


def release(
    folder: Path, warehouse: Path, service_code: str, extract_date: str, umask: int | None = None
) -> Path | None:
    """Publish a run's build folder: commit it, then complete it. Returns the published
    Data Docs folder, if the run wrote one."""
    commit(folder, service_code, extract_date, umask)
    return complete(folder, warehouse)


def recover_held(warehouse: Path) -> str | None:
    """With the warehouse's lock held: complete a committed release that a kill
    interrupted, and remove the folders of uncommitted ones. Returns what was done."""
    done = None
    for folder in (build_folder(warehouse), rebuild_folder(warehouse)):
        if (folder / MARKER).exists():
            complete(folder, warehouse)
            done = f"Completed the release of {warehouse} that an earlier run began"
        elif folder.exists():
            discard(folder)
    return done


def recover(warehouse: Path) -> str | None:
    """Before any command reads a warehouse: finish what a killed run left (see
    ``recover_held``). When a run holds the warehouse's lock it is alive and finishes its
    own release, so nothing is done."""
    with try_exclusive_run(warehouse) as held:
        if held:
            return recover_held(warehouse)
    return None
