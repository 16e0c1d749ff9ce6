"""The release of a run: everything it publishes is made in a build folder beside the
warehouse, and swapped in only when the whole run has succeeded.

The build folder, ``.<warehouse name>.build`` in the warehouse's folder, holds:

- ``warehouse.duckdb``: a copy of the published warehouse (every extract loaded so far)
  that dbt builds (``dcrs.build``), and ``warehouse.private.duckdb``, a copy of its
  private store (the row-level tables), that the run loads its export into;
- ``data_docs/``: Great Expectations' Data Docs, written by the quality checks in dbt;
- ``parquet/``, ``report.html`` and ``report-published.html``, written from the built
  database by ``write_outputs``.

``release`` renames the database over the published warehouse (atomic: readers see the
old file or the new one), then puts each output beside it. A failed run's folder is
removed; the published warehouse and its outputs are left as they were.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from dcrs.build import DATA_DOCS_DIR, DATABASE_NAME
from dcrs.warehouse import private_store

# What a run publishes beside the warehouse, in the warehouse's folder.
DATA_DOCS = DATA_DOCS_DIR
PARQUET = "parquet"
REPORT = "report.html"
PUBLISHED_REPORT = "report-published.html"
OUTPUTS = (DATA_DOCS, PARQUET, REPORT, PUBLISHED_REPORT)


def build_folder(warehouse: Path) -> Path:
    return warehouse.with_name(f".{warehouse.name}.build")


def start(warehouse: Path) -> Path:
    """A new build folder holding a copy of the published warehouse and of its private
    store (if any)."""
    folder = build_folder(warehouse)
    discard(folder)
    folder.mkdir(parents=True)
    for published, copy in (
        (warehouse, folder / DATABASE_NAME),
        (private_store(warehouse), private_store(folder / DATABASE_NAME)),
    ):
        if published.exists():
            shutil.copyfile(published, copy)
    return folder


def discard(folder: Path) -> None:
    """Remove a build folder and everything in it (a failed or interrupted run's)."""
    shutil.rmtree(folder, ignore_errors=True)


def write_outputs(folder: Path, service_code: str, extract_date: str) -> None:
    """The Parquet files of the built database and its two reports, in the build folder."""
    from dcrs.parquet import export_parquet
    from dcrs.report import write_report

    database = folder / DATABASE_NAME
    export_parquet(database, folder / PARQUET)
    write_report(database, folder / REPORT, False, service_code, extract_date)
    write_report(database, folder / PUBLISHED_REPORT, True, service_code, extract_date)


def _replace(source: Path, target: Path) -> None:
    """Put ``source`` where ``target`` is: one rename for a file; for a folder, the old
    one is renamed away first, so readers see the old folder or the new, never a mix."""
    if source.is_dir():
        retired = target.with_name(target.name + ".old")
        shutil.rmtree(retired, ignore_errors=True)
        if target.exists():
            os.replace(target, retired)
        os.replace(source, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(source, target)


def publish(database: Path, outputs: Path, warehouse: Path) -> Path | None:
    """Swap ``database`` in as the published warehouse, then the outputs found in the
    folder ``outputs`` beside it. Returns the published Data Docs folder, if any.

    The private store goes first, then the warehouse. The two renames are not one atomic
    step: a crash between them leaves the private store one extract ahead of the
    warehouse (a stopgap; docs/private-store.md says what the release must do)."""
    for built, published in (
        (private_store(database), private_store(warehouse)),
        (database, warehouse),
    ):
        if not built.exists():
            continue
        if built.with_name(built.name + ".wal").exists():
            duckdb.connect(str(built)).close()  # DuckDB writes its log into the file
        os.replace(built, published)
    for name in OUTPUTS:
        if (outputs / name).exists():
            _replace(outputs / name, warehouse.with_name(name))
    docs = warehouse.with_name(DATA_DOCS)
    return docs if docs.exists() else None


def release(folder: Path, warehouse: Path) -> Path | None:
    """Publish a run's build folder (its database and outputs) and remove the folder.
    Returns the published Data Docs folder, if the run wrote one."""
    docs = publish(folder / DATABASE_NAME, folder, warehouse)
    discard(folder)
    return docs
