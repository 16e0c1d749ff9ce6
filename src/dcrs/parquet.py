"""Parquet copies of the warehouse's reporting tables, with a manifest of checksums.

``export_parquet`` writes every table of the ``marts`` and ``published`` schemas as one
Parquet file each (DuckDB's own ``COPY ... TO``), then ``manifest.json`` listing every file
with its row count, size and SHA-256, the service and extract the tables describe, and
when they were written. ``verify_manifest`` re-checks a folder against its manifest.

Only ``published/`` is under disclosure control (1 to 7 suppressed, other counts rounded
to 5; see models/published): it is what may leave the service. ``marts/`` holds exact
counts, for the service's own analysts. Each file's manifest entry says which it is.

The folder is written in place and ``manifest.json`` last (itself via a temporary file and
a rename), so a folder without a manifest is an unfinished export. The caller builds it in
a new folder and swaps the whole folder in at publish time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb

SCHEMAS = ("marts", "published")
DISCLOSURE_CONTROLLED = frozenset({"published"})
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "dcrs-parquet-export/1"


def export_parquet(database: Path, out_dir: Path) -> Path:
    """Write every table of the `marts` and `published` schemas as Parquet
    (out_dir/marts/<table>.parquet, out_dir/published/<table>.parquet) with DuckDB COPY,
    and out_dir/manifest.json listing each file: path relative to out_dir, schema, table,
    rows, bytes, sha256, plus the service_code/extract_date(s) and the time written.
    Opens the database read-only. Returns the manifest path.

    ``out_dir`` must not exist or be empty: files of an earlier export are never mixed
    with this one's.
    """
    database = Path(database)
    out_dir = Path(out_dir)
    if not database.is_file():
        raise FileNotFoundError(f"{database}: no such database file")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir}: not empty; export Parquet into a new folder")
    out_dir.mkdir(parents=True, exist_ok=True)

    files: list[dict[str, Any]] = []
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            f"""
            select table_schema, table_name
            from information_schema.tables
            where
                table_catalog = current_database()
                and table_schema in ({", ".join("?" for _ in SCHEMAS)})
            order by table_schema, table_name
            """,
            list(SCHEMAS),
        ).fetchall()
        if not tables:
            raise ValueError(f"{database}: holds no table in schemas {', '.join(SCHEMAS)}")
        extracts = _extracts(con)
        for schema, table in tables:
            relative = PurePosixPath(schema, f"{table}.parquet")
            target = out_dir / relative
            target.parent.mkdir(exist_ok=True)
            relation = f"{_identifier(schema)}.{_identifier(table)}"
            (rows,) = con.execute(
                f"copy (select * from {relation}) to {_literal(str(target))} "
                "(format parquet, compression zstd)"
            ).fetchone()
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_catalog = current_database() and table_schema = ? "
                    "and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
            ]
            entry: dict[str, Any] = {
                "path": str(relative),
                "schema": schema,
                "table": table,
                "rows": rows,
                "bytes": target.stat().st_size,
                "sha256": sha256_file(target),
                "disclosure_controlled": schema in DISCLOSURE_CONTROLLED,
            }
            if "extract_date" in columns:
                entry["extract_dates"] = [
                    str(value)
                    for (value,) in con.execute(
                        f"select distinct extract_date from {relation} "
                        "where extract_date is not null order by 1"
                    ).fetchall()
                ]
            files.append(entry)

    manifest = {
        "format": MANIFEST_FORMAT,
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "written_by": f"DuckDB {duckdb.__version__}",
        "service_codes": sorted({extract["service_code"] for extract in extracts}),
        "extract_dates": sorted({extract["extract_date"] for extract in extracts}),
        "extracts": extracts,
        "files": files,
    }
    path = out_dir / MANIFEST_NAME
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def verify_manifest(manifest: Path) -> list[str]:
    """Problems found re-checking the files against the manifest (missing, size, checksum).

    Also reported: an unreadable manifest, an entry whose path leaves the folder, and a
    Parquet file in the folder that the manifest does not list. An empty list means every
    file is there, whole and unchanged.
    """
    manifest = Path(manifest)
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
        entries = document["files"]
        if not isinstance(entries, list):
            raise TypeError("files is not a list")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [f"{manifest}: cannot be read as an export manifest ({error})"]

    root = manifest.parent.resolve()
    problems: list[str] = []
    listed: set[Path] = set()
    for entry in entries:
        try:
            relative = PurePosixPath(entry["path"])
            expected_bytes = int(entry["bytes"])
            expected_sha256 = str(entry["sha256"])
        except (KeyError, TypeError, ValueError) as error:
            problems.append(f"{manifest}: malformed entry {entry!r} ({error})")
            continue
        path = (root / relative).resolve()
        if relative.is_absolute() or not path.is_relative_to(root):
            problems.append(f"{relative}: path lies outside {root}")
            continue
        listed.add(path)
        if not path.is_file():
            problems.append(f"{relative}: missing")
            continue
        size = path.stat().st_size
        if size != expected_bytes:
            problems.append(f"{relative}: size is {size} bytes, manifest says {expected_bytes}")
        digest = sha256_file(path)
        if digest != expected_sha256:
            problems.append(f"{relative}: sha256 is {digest}, manifest says {expected_sha256}")
    for path in sorted(root.rglob("*.parquet")):
        if path.resolve() not in listed:
            problems.append(f"{path.relative_to(root).as_posix()}: not listed in the manifest")
    return problems


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _extracts(con: duckdb.DuckDBPyConnection) -> list[dict[str, str]]:
    """The services and extracts the tables describe, from marts.service_summary."""
    has_summary = con.execute(
        "select count(*) from information_schema.tables where table_catalog = "
        "current_database() and table_schema = 'marts' and table_name = 'service_summary'"
    ).fetchone()[0]
    if not has_summary:
        return []
    return [
        {"service_code": service_code, "extract_date": extract_date}
        for service_code, extract_date in con.execute(
            "select distinct service_code, extract_date::varchar from marts.service_summary "
            "order by 1, 2"
        ).fetchall()
    ]


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
