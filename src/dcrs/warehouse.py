"""What a published warehouse already holds: its extracts and the version of its tables.

Marts, audit, history and published tables are dbt incremental models that keep every
extract loaded, built with ``on_schema_change: fail``: a change to their columns cannot be
applied to a warehouse built before it. The dbt variable ``warehouse_schema_version``
names the version the models build, and ``audit.warehouse_schema`` records it in each
warehouse; a run refuses a warehouse of another version before it does any work, and
``dcrs rebuild`` replays the kept exports into a new one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

# A warehouse built before versions were recorded.
UNVERSIONED = 1


def private_store(warehouse: Path) -> Path:
    """The private store beside a warehouse (dcrs.duckdb -> dcrs.private.duckdb): the
    row-level tables (raw, staging, intermediate, history.record_versions,
    audit.load_issue_values). profiles.yml names it the same way (docs/private-store.md)."""
    name = warehouse.name.removesuffix(".duckdb")
    return warehouse.with_name(f"{name}.private.duckdb")


class SchemaMismatch(Exception):
    """The warehouse's tables are of another version than the models build."""


class WarehouseBusy(Exception):
    """Another program holds the warehouse open for writing, so nothing can read it."""


@contextlib.contextmanager
def open_read_only(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a published warehouse; WarehouseBusy when another
    program (a BI tool or the DuckDB CLI opened read-write) holds it."""
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as error:
        if "Conflicting lock" not in str(error):
            raise
        holder = re.search(r"held in (.+?) \(PID (\d+)\)", str(error))
        program = f"{holder.group(1)}, process {holder.group(2)}" if holder else "another program"
        raise WarehouseBusy(
            f"{warehouse}: {program} holds it open for writing, so it cannot be read or "
            "replaced safely. Close that connection, or open the warehouse read-only "
            '(DBeaver: the connection\'s "Read-only" setting; duckdb CLI: -readonly)'
        ) from error
    with con:
        yield con


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    (count,) = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(count)


def loaded_extracts(warehouse: Path) -> set[tuple[str, dt.date]]:
    """The (service_code, extract_date) of every extract in the warehouse."""
    if not warehouse.exists():
        return set()
    with open_read_only(warehouse) as con:
        if not _has_table(con, "history", "loaded_extracts"):
            return set()
        rows = con.execute("select service_code, extract_date from history.loaded_extracts")
        return set(rows.fetchall())


def built_schema_version(warehouse: Path) -> int | None:
    """The version of the warehouse's tables; None when there is no warehouse yet (no
    file, or a file with no extract loaded)."""
    if not warehouse.exists():
        return None
    with open_read_only(warehouse) as con:
        if not _has_table(con, "history", "loaded_extracts"):
            return None
        if not _has_table(con, "audit", "warehouse_schema"):
            return UNVERSIONED
        (version,) = con.execute(
            "select max(schema_version) from audit.warehouse_schema"
        ).fetchone()
        return int(version)


def check_schema_version(warehouse: Path, expected: int) -> None:
    """Raise SchemaMismatch when the warehouse was built by models of another version."""
    found = built_schema_version(warehouse)
    if found is not None and found != expected:
        raise SchemaMismatch(
            f"{warehouse}: its tables are of schema version {found}, and the models now "
            f"build version {expected}. Rebuild it from the exports it was loaded from: "
            f"dcrs rebuild --inbox FOLDER_OF_EXPORTS --warehouse {warehouse}"
        )
