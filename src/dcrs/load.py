"""Load one DCRS export into the ``raw`` schema of a DuckDB warehouse.

This is the only Python that touches the export's rows, and it does so through DuckDB's
CSV reader: it checks what makes an export trustworthy (manifest, files, columns,
encoding, row counts) and copies every data row, as text, into ``raw.<table>`` with the
line it came from. Typing, validation and rejection of single rows happen in dbt
(``models/staging`` and ``models/intermediate``), so that they are set-based and tested.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dcrs.export_contract import EXPORT_FILES, MANIFEST_FILE, MANIFEST_KEYS, ExportFile

CHUNK_BYTES = 16 * 1024 * 1024
NULL_SENTINEL = "\x1fdcrs-no-value\x1f"
# C0 control characters other than tab, line feed and carriage return, and DEL, never occur
# in a genuine export; finding one means the bytes are not text in the encoding we tried.
# They are ASCII bytes, the same in UTF-8 and Windows-1252 (a multi-byte UTF-8 sequence
# uses bytes from 0x80 up only), so they are looked for in the bytes: deleting every other
# byte leaves them (10x faster than a regular expression over the decoded text).
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
OTHER_BYTES = bytes(sorted(set(range(256)) - set(CONTROL_BYTES)))
CONTROL_BYTE = re.compile(b"[" + re.escape(CONTROL_BYTES) + b"]")


class ExportError(Exception):
    """The export cannot be trusted: nothing from it may be published."""

    def __init__(self, path: Path, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass
class Manifest:
    service_code: str
    service_name: str
    extract_date: dt.date
    row_counts: dict[str, int]


@dataclass
class LoadedFile:
    file_name: str
    encoding: str
    rows_read: int
    extra_columns: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    export_dir: Path
    manifest: Manifest
    files: list[LoadedFile]

    @property
    def rows_read(self) -> int:
        return sum(loaded.rows_read for loaded in self.files)


def read_manifest(export_dir: Path) -> Manifest:
    """Read and check ``manifest.json``; raise ExportError naming the problem."""
    path = export_dir / MANIFEST_FILE
    if not export_dir.is_dir():
        raise ExportError(export_dir, "the export folder does not exist")
    if not path.is_file():
        raise ExportError(path, "the manifest is missing")
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportError(path, f"the manifest cannot be read as JSON ({error})") from error
    if not isinstance(document, dict):
        raise ExportError(path, "the manifest is not a JSON object")
    missing = [key for key in MANIFEST_KEYS if key not in document]
    if missing:
        raise ExportError(path, f"the manifest lacks {', '.join(missing)}")
    try:
        extract_date = dt.date.fromisoformat(str(document["extract_date"]))
    except ValueError as error:
        raise ExportError(
            path, f"extract_date {document['extract_date']!r} is not a date like 2010-08-31"
        ) from error
    row_counts = document["row_counts"]
    if not isinstance(row_counts, dict):
        raise ExportError(path, "row_counts is not an object of file name to row count")
    for export_file in EXPORT_FILES:
        count = row_counts.get(export_file.file_name)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ExportError(
                path, f"row_counts has no whole-number count for {export_file.file_name}"
            )
    service_code = str(document["service_code"]).strip()
    if not service_code:
        raise ExportError(path, "service_code is blank")
    return Manifest(
        service_code=service_code,
        service_name=str(document["service_name"]).strip(),
        extract_date=extract_date,
        row_counts={name: int(count) for name, count in row_counts.items()},
    )


def _line_of_offset(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset).count(b"\n") + 1


def _check_decodes(path: Path, encoding: str) -> bool:
    """True when the whole file decodes as ``encoding`` to plain text (streamed in chunks)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
            if chunk.translate(None, OTHER_BYTES):
                return False
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _first_bad_utf8_line(path: Path) -> int:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    consumed = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return _line_of_offset(path, consumed + error.start)
            consumed += len(chunk)
    return _line_of_offset(path, consumed)


def _first_control_byte(path: Path) -> tuple[int, int] | None:
    """The line and value of the first control byte in the file, if any."""
    consumed = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            if match := CONTROL_BYTE.search(chunk):
                return _line_of_offset(path, consumed + match.start()), chunk[match.start()]
            consumed += len(chunk)
    return None


def utf8_copy(path: Path, workdir: Path) -> tuple[Path, str]:
    """Return a UTF-8 file with the content of ``path`` and the encoding found.

    UTF-8 files (with or without a byte-order mark) are read in place. A file that is not
    UTF-8 but is clean Windows-1252 (a spreadsheet's "save as CSV") is transcoded into
    ``workdir``. Anything else cannot be decoded and makes the export untrusted.
    """
    if _check_decodes(path, "utf-8-sig"):
        return path, "utf-8"
    if _check_decodes(path, "cp1252"):
        target = workdir / path.name
        with (
            path.open("r", encoding="cp1252", newline="") as source,
            target.open("w", encoding="utf-8", newline="") as sink,
        ):
            while text := source.read(CHUNK_BYTES):
                sink.write(text)
        return target, "windows-1252"
    control = _first_control_byte(path)
    if control is not None:
        line, byte = control
        raise ExportError(
            path,
            f"line {line}: holds the control character 0x{byte:02x}, which no text export "
            "contains (the file is damaged or is not a CSV export)",
        )
    line = _first_bad_utf8_line(path)
    raise ExportError(
        path,
        f"cannot be decoded as UTF-8 or Windows-1252 (first undecodable byte on line {line})",
    )


def _header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        first_row = next(csv.reader(handle), None)
    if not first_row:
        raise ExportError(path, "line 1: the file is empty; a header row is required")
    return [name.strip().lower() for name in first_row]


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    options: str,
    select: str,
    table: str,
) -> None:
    """Create ``table`` from ``select`` over the CSV's rows (``read_csv`` with ``options``)."""
    statement = (
        f"create or replace table {table} as "
        f"select {select} from read_csv({_sql_text(str(readable))}, {options}"
    )
    try:
        try:
            con.execute(statement + ")")
        except duckdb.Error as error:
            # DuckDB's parallel reader cannot pad rows when a quoted field holds a line
            # break; such files are read on one thread.
            if "quoted new lines" not in str(error):
                raise
            con.execute(statement + ", parallel = false)")
    except duckdb.Error as error:
        detail = str(error).splitlines()
        summary = "; ".join(line.strip() for line in detail[:3] if line.strip())
        raise ExportError(path, f"is not a well-formed CSV file: {summary}") from error


def load_file(
    con: duckdb.DuckDBPyConnection,
    export_dir: Path,
    export_file: ExportFile,
    manifest: Manifest,
    workdir: Path,
) -> LoadedFile:
    """Copy one CSV into ``raw.<table>``: every row, every contract column, as text."""
    path = export_dir / export_file.file_name
    if not path.is_file():
        raise ExportError(path, "required file is missing from the export")
    readable, encoding = utf8_copy(path, workdir)
    header = _header(readable)
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ExportError(path, f"line 1: column {', '.join(duplicated)} appears more than once")
    missing = [name for name in export_file.columns if name not in header]
    if missing:
        raise ExportError(path, f"line 1: required column {', '.join(missing)} is missing")
    extra = [name for name in header if name not in export_file.columns]

    # One column more than the header, padded with null: a row with too many fields fills
    # it, a row with too few leaves a null. Empty fields read as '' (the null string is a
    # sentinel), so a trailing empty field is told apart from a missing one.
    width = len(header)
    positional = ", ".join(f"'c{index}': 'VARCHAR'" for index in range(width + 1))
    options = (
        f"header = true, columns = {{{positional}}}, delim = ',', quote = '\"', "
        "escape = '\"', auto_detect = false, strict_mode = true, null_padding = true, "
        f"nullstr = {_sql_text(NULL_SENTINEL)}"
    )
    # One write: the raw table is made straight from the CSV, with two flags for the
    # shape of each row (computed before empty fields become null), which are dropped
    # once checked. Reading into a temporary table first and copying it wrote every row
    # twice: at a million clients the load took 4.5-5.2 s that way and 4.3-4.4 s this
    # way, and peaked at about 510 MB against 400-455 MB.
    table = f"raw.{export_file.table}"
    selected = ", ".join(
        f"nullif(c{header.index(name)}, '') as {name}" for name in export_file.columns
    )
    too_few = " or ".join(f"c{index} is null" for index in range(width))
    _read_rows(
        con,
        path,
        readable,
        options,
        f"null::integer as source_line, {selected}, "
        f"c{width} is not null as _too_many_fields, ({too_few}) as _too_few_fields",
        table,
    )
    too_many_at, too_few_at = con.execute(
        f"""
        select
            min(rowid) filter (where _too_many_fields) + 2,
            min(rowid) filter (where _too_few_fields) + 2
        from {table}
        """
    ).fetchone()
    if too_many_at is not None or too_few_at is not None:
        con.execute(f"drop table {table}")  # no half-checked raw table is left behind
        raise ExportError(
            path,
            f"line {too_many_at}: more fields than the {width} in the header"
            if too_many_at is not None
            else f"line {too_few_at}: fewer fields than the {width} in the header",
        )
    con.execute(f"alter table {table} drop column _too_many_fields")
    con.execute(f"alter table {table} drop column _too_few_fields")
    # rowid follows insertion order, which the CSV reader preserves: line = rowid + 2
    # (line 1 is the header; a quoted field holding a line break shifts later lines).
    con.execute(f"update {table} set source_line = rowid + 2")
    rows_read = con.execute(f"select count(*) from {table}").fetchone()[0]
    expected = manifest.row_counts[export_file.file_name]
    if rows_read != expected:
        raise ExportError(
            path,
            f"holds {rows_read} data rows but {MANIFEST_FILE} says {expected}: "
            "the export is truncated or altered",
        )
    return LoadedFile(export_file.file_name, encoding, rows_read, extra)


def load_export(con: duckdb.DuckDBPyConnection, export_dir: Path) -> LoadReport:
    """Load a whole export into the ``raw`` schema, or raise ExportError."""
    export_dir = export_dir.resolve()
    manifest = read_manifest(export_dir)
    con.execute("create schema if not exists raw")
    with tempfile.TemporaryDirectory(prefix="dcrs-load-") as workdir:
        files = [
            load_file(con, export_dir, export_file, manifest, Path(workdir))
            for export_file in EXPORT_FILES
        ]
    con.execute(
        """
        create or replace table raw.manifest as
        select
            ?::varchar as service_code,
            ?::varchar as service_name,
            ?::date as extract_date,
            ?::varchar as export_dir,
            current_timestamp as loaded_at
        """,
        [manifest.service_code, manifest.service_name, manifest.extract_date, str(export_dir)],
    )
    con.execute(
        "create or replace table raw.export_files ("
        "file_name varchar, encoding varchar, rows_read integer, manifest_row_count integer, "
        "extra_columns varchar[])"
    )
    con.executemany(
        "insert into raw.export_files values (?, ?, ?, ?, ?)",
        [
            [
                loaded.file_name,
                loaded.encoding,
                loaded.rows_read,
                manifest.row_counts[loaded.file_name],
                loaded.extra_columns,
            ]
            for loaded in files
        ],
    )
    return LoadReport(export_dir=export_dir, manifest=manifest, files=files)
