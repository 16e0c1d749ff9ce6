"""Load one DCRS export into the ``raw`` schema of a DuckDB warehouse.

This is the only Python that touches the export's rows, and it does so through DuckDB's
CSV reader: it checks what makes an export trustworthy (manifest, files, columns,
encoding, row counts) and copies every data row, as text, into ``raw.<table>`` with the
physical line of the file it starts on. Typing, validation and rejection of single rows
happen in dbt (``models/staging`` and ``models/intermediate``), so that they are set-based
and tested.

The bytes of each file are read once, in chunks, before DuckDB reads it: the file must be
one encoding throughout (UTF-8, or Windows-1252 when it holds no UTF-8 text at all), hold
no control characters, and its line breaks are counted by kind. A Windows-1252 file, or
one whose line breaks are of mixed kinds, is copied into the load's temporary folder as
UTF-8 with line feeds (DuckDB's reader takes one kind of line break per file). No message
of the loader holds a value of a record: it names the file, the line and the column.
"""

from __future__ import annotations

import bisect
import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dcrs.export_contract import EXPORT_FILES, MANIFEST_FILE, ExportError, ExportFile
from dcrs.export_text import (
    FileScan,
    blank_line_runs,
    choose_encoding,
    count_quotes,
    line_at,
    readable_copy,
    scan_file,
    skip_breaks,
    trailing_blank_lines,
)
from dcrs.manifest import Manifest, read_manifest

__all__ = ["ExportError", "LoadReport", "LoadedFile", "Manifest", "load_export", "read_manifest"]

NULL_SENTINEL = "\x1fdcrs-no-value\x1f"
# DuckDB's reader refuses a line longer than this (its default max_line_size).
MAX_LINE_BYTES = 2_000_000
# What DuckDB's rejects table calls an error, in words (its own message can quote the row).
CSV_ERRORS = {
    "UNQUOTED VALUE": "a quoted value is not closed, or has characters after its closing quote",
    "LINE SIZE OVER MAXIMUM": (
        f"the line is longer than {MAX_LINE_BYTES:,} bytes, far longer than any record of an export"
    ),
    "INVALID UNICODE": "text that is not UTF-8",
}
FIELD_COUNT_ERRORS = {
    "TOO MANY COLUMNS": "more fields than",
    "MISSING COLUMNS": "fewer fields than",
}


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


# --- reading the rows ---------------------------------------------------------------------------


def _header(path: Path, readable: Path) -> tuple[list[str], int]:
    """The header's column names (lower-cased) and how many physical lines it takes."""
    with readable.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            first_row = next(reader, None)
        except csv.Error as error:
            raise ExportError(
                path, "line 1: the header row cannot be read as CSV (a quote is not closed?)"
            ) from error
        lines = reader.line_num
    if first_row is None:
        raise ExportError(path, "line 1: the file is empty; a header row is required")
    if first_row == []:
        raise ExportError(path, "line 1: blank; the header row must be the first line")
    return [name.strip().lower() for name in first_row], lines


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _csv_options(width: int, serial: bool = False) -> str:
    """read_csv's options: every field as text, in ``width`` + 1 positional columns."""
    # One column more than the header, padded with null: a row with too many fields fills
    # it, a row with too few leaves a null. Empty fields read as '' (the null string is a
    # sentinel), so a trailing empty field is told apart from a missing one.
    positional = ", ".join(f"'c{index}': 'VARCHAR'" for index in range(width + 1))
    return (
        f"header = true, columns = {{{positional}}}, delim = ',', quote = '\"', "
        "escape = '\"', auto_detect = false, strict_mode = true, null_padding = true, "
        f"nullstr = {_sql_text(NULL_SENTINEL)}, max_line_size = {MAX_LINE_BYTES}"
        + (", parallel = false" if serial else "")
    )


def _first_reject(
    con: duckdb.DuckDBPyConnection, readable: Path, width: int, serial: bool
) -> tuple[int, int, int | None, str] | None:
    """The first row DuckDB's reader rejects, read again with its rejects table: where its
    record and its faulty value start (byte positions from 1), its column, the error."""
    try:
        con.execute(
            f"select count(*) from read_csv({_sql_text(str(readable))}, "
            f"{_csv_options(width, serial)}, store_rejects = true, "
            "rejects_table = 'dcrs_load_rejects', rejects_scan = 'dcrs_load_reject_scans')"
        ).fetchall()  # the rejects table is complete once the scan is
        return con.execute(
            "select line_byte_position, byte_position, column_idx, error_type "
            "from dcrs_load_rejects order by byte_position limit 1"
        ).fetchone()
    except duckdb.Error:
        return None
    finally:
        con.execute("drop table if exists dcrs_load_rejects")
        con.execute("drop table if exists dcrs_load_reject_scans")


def _csv_error(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    header: list[str],
    error: duckdb.Error,
) -> ExportError:
    """Where and what DuckDB's reader found wrong, in words: the file, the physical line
    where the record starts, the column. DuckDB's own message is not passed on: it quotes
    the whole row (and its line number counts records, not lines)."""
    # On one thread the reader sees more (a quoted line break); on several it reports a
    # quote left open at the end of the file, which on one thread it reads silently.
    located = _first_reject(con, readable, len(header), serial=True) or _first_reject(
        con, readable, len(header), serial=False
    )
    if located is None:  # DuckDB's text is not shown: it may hold the row
        return ExportError(
            path,
            f"is not a well-formed CSV file (DuckDB's CSV reader stopped with "
            f"{type(error).__name__} and could not say where)",
        )
    record_at, value_at, column, kind = located
    # positions from 1; the record's position may point at blank lines before it
    start = skip_breaks(readable, record_at - 1) if record_at else (value_at or 1) - 1
    where = f"line {line_at(readable, start)}"
    if kind in FIELD_COUNT_ERRORS:
        return ExportError(
            path, f"{where}: {FIELD_COUNT_ERRORS[kind]} the {len(header)} in the header"
        )
    if column and column <= len(header):
        name = header[column - 1]
        where += f", column {column} ({name if len(name) <= 60 else name[:57] + '...'})"
    return ExportError(path, f"{where}: {CSV_ERRORS.get(kind, kind.lower())}")


def _read_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    header: list[str],
    select: str,
    table: str,
) -> None:
    """Create ``table`` from ``select`` over the CSV's rows, or raise ExportError."""

    def statement(serial: bool) -> str:
        return (
            f"create or replace table {table} as select {select} from "
            f"read_csv({_sql_text(str(readable))}, {_csv_options(len(header), serial)})"
        )

    try:
        try:
            con.execute(statement(serial=False))
        except duckdb.Error as error:
            # DuckDB's parallel reader cannot pad rows when a quoted field holds a line
            # break; such files are read on one thread.
            if "quoted new lines" not in str(error):
                raise
            con.execute(statement(serial=True))
    except duckdb.Error as error:
        raise _csv_error(con, path, readable, header, error) from None


# --- line numbers -----------------------------------------------------------------------------


@dataclass
class Lines:
    """How the physical lines of a file hold its records."""

    header: int  # lines the header takes
    data: int  # lines after the header, less the empty lines at the end
    line_break: bytes  # the one kind of line break of the file read

    def breaks_sql(self, width: int) -> str:
        """Line breaks inside a row's fields (a quoted field may hold some)."""
        size = len(self.line_break)
        text = _sql_text(self.line_break.decode())
        return " + ".join(
            f"coalesce((length(c{index}) - length(replace(c{index}, {text}, ''))) // {size}, 0)"
            for index in range(width + 1)
        )


def _skipped_blank_lines(
    con: duckdb.DuckDBPyConnection, table: str, readable: Path, lines: Lines, rows: int
) -> list[tuple[int, int]]:
    """Runs of blank lines between records, which DuckDB's reader skips: (the index of
    the record after the run, its lines). A run inside a quoted value is the value's.

    Without skipped lines, record i would start i + (line breaks inside records before
    it) lines after the header: a run is skipped when it starts where a record would. Only
    the rows holding line breaks are fetched, and the runs (rare) are walked, not the rows.
    """
    last_line = lines.header + lines.data  # the empty lines at the end are not counted
    runs = [run for run in blank_line_runs(readable, lines.line_break) if run[0] <= last_line]
    if not runs:
        return []
    # segments of records with no line break inside: from the record after row r on,
    # record i would start at i + breaks lines after the header
    segments = [(-1, 0)] + con.execute(
        f"select rowid, sum(_breaks) over (order by rowid) from {table} "
        "where _breaks > 0 order by rowid"
    ).fetchall()
    starts = [row + 1 + breaks for row, breaks in segments]
    skipped: list[tuple[int, int]] = []
    skipped_lines = 0
    for first, count in runs:
        position = first - lines.header - 1 - skipped_lines  # as if no blank line were skipped
        segment = bisect.bisect_right(starts, position) - 1
        if segment < 0:
            continue
        record = position - segments[segment][1]
        segment_end = segments[segment + 1][0] if segment + 1 < len(segments) else rows
        if record <= segment_end:  # a record (or the end of the file) would start there
            skipped.append((record, count))
            skipped_lines += count
    return skipped


def number_lines(
    con: duckdb.DuckDBPyConnection, table: str, readable: Path, lines: Lines, rows: int
) -> bool:
    """Set ``source_line``, the physical line where each row's record starts. Set-based:
    when every record takes one line, it is the row's position; otherwise the line
    breaks inside earlier records' fields and the blank lines skipped before it are
    added. Returns False when the lines found do not add up to the file's."""
    first = lines.header + 1
    if lines.data == rows:
        con.execute(f"update {table} set source_line = rowid + {first}")
        return True
    (inside,) = con.execute(f"select coalesce(sum(_breaks), 0) from {table}").fetchone()
    skipped = (
        _skipped_blank_lines(con, table, readable, lines, rows)
        if lines.data > rows + inside
        else []
    )
    con.execute("create or replace temp table dcrs_load_skipped (record bigint, lines bigint)")
    if skipped:
        con.executemany("insert into dcrs_load_skipped values (?, ?)", skipped)
    con.execute(
        f"""
        update {table} set source_line = numbered.line
        from (
            select
                rows.rowid as row_id,
                {first} + rows.rowid
                + coalesce(sum(rows._breaks) over (
                    order by rows.rowid rows between unbounded preceding and 1 preceding
                ), 0)
                + coalesce(skipped.lines_before, 0) as line
            from {table} as rows
            asof left join (
                select record, sum(lines) over (order by record) as lines_before
                from dcrs_load_skipped
            ) as skipped
                on rows.rowid >= skipped.record
        ) as numbered
        where numbered.row_id = {table}.rowid
        """
    )
    con.execute("drop table dcrs_load_skipped")
    return lines.data == rows + inside + sum(count for _, count in skipped)


# --- one file -----------------------------------------------------------------------------------


def _check_columns(path: Path, header: list[str], export_file: ExportFile) -> list[str]:
    """Raise ExportError for a repeated or missing column; return the extra columns."""
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ExportError(path, f"line 1: column {', '.join(duplicated)} appears more than once")
    missing = [name for name in export_file.columns if name not in header]
    if missing:
        raise ExportError(path, f"line 1: required column {', '.join(missing)} is missing")
    return [name for name in header if name not in export_file.columns]


def _check_shape(
    con: duckdb.DuckDBPyConnection, path: Path, readable: Path, table: str, width: int
) -> None:
    """Raise ExportError (dropping the table) for a row with more or fewer fields than the
    header, naming the first such row's line."""
    too_many_at, too_few_at, last_line = con.execute(
        f"""
        select
            min(source_line) filter (where _too_many_fields),
            min(source_line) filter (where _too_few_fields),
            max(source_line)
        from {table}
        """
    ).fetchone()
    if too_many_at is None and too_few_at is None:
        return
    con.execute(f"drop table {table}")  # no half-checked raw table is left behind
    if too_many_at is not None and (too_few_at is None or too_many_at < too_few_at):
        raise ExportError(path, f"line {too_many_at}: more fields than the {width} in the header")
    if too_few_at == last_line and count_quotes(readable) % 2:
        # DuckDB's reader on one thread ends an unclosed quote at the end of the file
        # without a word, leaving the row short
        raise ExportError(
            path, f"line {too_few_at}: a quoted value is not closed before the end of the file"
        )
    raise ExportError(path, f"line {too_few_at}: fewer fields than the {width} in the header")


def _readable(path: Path, workdir: Path) -> tuple[Path, str, FileScan, bool]:
    """The file DuckDB is to read (the export's, or a copy in ``workdir`` when it is
    Windows-1252 or its line breaks are mixed), its encoding, the scan of its bytes, and
    whether its line breaks were made line feeds."""
    scan = scan_file(path)
    encoding = choose_encoding(path, scan)
    normalise = len(scan.break_kinds) > 1
    if normalise or encoding != "utf-8":
        return readable_copy(path, workdir, encoding, normalise), encoding, scan, normalise
    return path, encoding, scan, normalise


def _lines(scan: FileScan, readable: Path, header_lines: int, normalised: bool) -> Lines:
    kinds = scan.break_kinds
    all_lines = scan.breaks + (0 if scan.ends_with_break else 1)
    return Lines(
        header=header_lines,
        data=all_lines - trailing_blank_lines(readable) - header_lines,
        line_break=b"\n" if normalised or not kinds else kinds[0],
    )


def _read_numbered(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    header: list[str],
    export_file: ExportFile,
    lines: Lines,
    expected: int,
) -> int:
    """Create ``raw.<table>`` from the file, each row with its ``source_line``; raise
    ExportError (leaving no table) for a malformed row. Returns the rows read."""
    # One write: the raw table is made straight from the CSV, with flags for the shape of
    # each row (computed before empty fields become null), which are dropped once
    # checked. Reading into a temporary table first and copying it wrote every row twice.
    # The line breaks inside each row's fields are counted only when the file holds more
    # lines than the manifest's rows (counting costs a third of the read).
    width = len(header)
    table = f"raw.{export_file.table}"
    selected = ", ".join(
        f"nullif(c{header.index(name)}, '') as {name}" for name in export_file.columns
    )
    too_few = " or ".join(f"c{index} is null" for index in range(width))

    def read(count_breaks: bool) -> int:
        breaks = f", {lines.breaks_sql(width)} as _breaks" if count_breaks else ""
        _read_rows(
            con,
            path,
            readable,
            header,
            f"null::integer as source_line, {selected}, "
            f"c{width} is not null as _too_many_fields, ({too_few}) as _too_few_fields"
            f"{breaks}",
            table,
        )
        return con.execute(f"select count(*) from {table}").fetchone()[0]

    count_breaks = lines.data != expected
    rows_read = read(count_breaks)
    if lines.data != rows_read and not count_breaks:
        rows_read = read(count_breaks=True)
    numbered = number_lines(con, table, readable, lines, rows_read)
    _check_shape(con, path, readable, table, width)
    for column in ("_too_many_fields", "_too_few_fields", "_breaks"):
        con.execute(f"alter table {table} drop column if exists {column}")
    if not numbered:
        con.execute(f"drop table {table}")
        raise ExportError(
            path,
            "its records do not add up to its lines (the CSV reader and the line count "
            "disagree); the file is damaged",
        )
    return rows_read


def _check_row_count(path: Path, export_file: ExportFile, rows_read: int, expected: int) -> None:
    if rows_read != expected:
        raise ExportError(
            path,
            f"holds {rows_read} data rows but {MANIFEST_FILE} says {expected}: "
            "the export is truncated or altered",
        )
    if rows_read == 0 and not export_file.may_be_empty:
        raise ExportError(
            path,
            "holds no data rows; an export holds at least one (only "
            + " and ".join(item.file_name for item in EXPORT_FILES if item.may_be_empty)
            + " may hold a header only)",
        )


def load_file(
    con: duckdb.DuckDBPyConnection,
    export_dir: Path,
    export_file: ExportFile,
    manifest: Manifest,
    workdir: Path,
) -> LoadedFile:
    """Copy one CSV into ``raw.<table>``: every row, every contract column, as text, with
    the physical line where its record starts."""
    path = export_dir / export_file.file_name
    if not path.is_file():
        raise ExportError(path, "required file is missing from the export")
    readable, encoding, scan, normalised = _readable(path, workdir)
    header, header_lines = _header(path, readable)
    extra = _check_columns(path, header, export_file)
    lines = _lines(scan, readable, header_lines, normalised)
    expected = manifest.row_counts[export_file.file_name]
    rows_read = _read_numbered(con, path, readable, header, export_file, lines, expected)
    _check_row_count(path, export_file, rows_read, expected)
    return LoadedFile(export_file.file_name, encoding, rows_read, extra)


def load_export(
    con: duckdb.DuckDBPyConnection, export_dir: Path, temp_dir: Path | None = None
) -> LoadReport:
    """Load a whole export into the ``raw`` schema, or raise ExportError.

    Copies of files that need one (Windows-1252, or mixed line breaks) are written into a
    new folder inside ``temp_dir`` (created if need be), removed when the load ends: the
    caller picks a folder it cleans at its next start, since a killed load leaves its copy
    (every date of birth and postcode) behind. By default, the system's temporary folder.
    """
    export_dir = export_dir.resolve()
    manifest = read_manifest(export_dir)
    con.execute("create schema if not exists raw")
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dcrs-load-", dir=temp_dir) as workdir:
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
