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
import codecs
import csv
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dcrs.export_contract import EXPORT_FILES, MANIFEST_FILE, ExportError, ExportFile
from dcrs.manifest import Manifest, read_manifest

__all__ = ["ExportError", "LoadReport", "LoadedFile", "Manifest", "load_export", "read_manifest"]

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
BREAK_BYTES = b"\r\n"
# A well-formed multi-byte UTF-8 sequence (RFC 3629): a file holding one is UTF-8 text,
# so a byte elsewhere in it that is not UTF-8 is damage, not Windows-1252.
UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]"
    rb"|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
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


# --- the bytes of a file ----------------------------------------------------------------------


@dataclass
class FileScan:
    """What one pass over a file's bytes found."""

    utf8: bool
    control_at: int | None  # offset of the first control byte
    control: int  # its value
    lf: int  # line feeds, those of CR LF pairs included
    cr: int  # carriage returns, those of CR LF pairs included
    crlf: int
    quotes: int
    ends_with_break: bool

    @property
    def breaks(self) -> int:
        """Line breaks: CR LF, LF or CR alone."""
        return self.lf + self.cr - self.crlf

    @property
    def break_kinds(self) -> list[bytes]:
        kinds = {b"\r\n": self.crlf, b"\n": self.lf - self.crlf, b"\r": self.cr - self.crlf}
        return [kind for kind, count in kinds.items() if count]


def _count_breaks(data: bytes) -> tuple[int, int, int]:
    """Line feeds, carriage returns and CR LF pairs in ``data``."""
    cr = data.count(b"\r")
    return data.count(b"\n"), cr, data.count(b"\r\n") if cr else 0


def scan_file(path: Path) -> FileScan:
    """One pass over the file in chunks: does it decode as UTF-8, where is its first control
    byte, how many line breaks of each kind and quote characters does it hold."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    utf8, control_at, control, consumed = True, None, 0, 0
    lf = cr = crlf = quotes = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if control_at is None and chunk.translate(None, OTHER_BYTES):
                match = CONTROL_BYTE.search(chunk)
                control_at, control = consumed + match.start(), chunk[match.start()]
            chunk_lf, chunk_cr, chunk_crlf = _count_breaks(chunk)
            lf, cr, crlf = lf + chunk_lf, cr + chunk_cr, crlf + chunk_crlf
            crlf += last.endswith(b"\r") and chunk.startswith(b"\n")
            quotes += chunk.count(b'"')
            consumed += len(chunk)
            last = chunk
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return FileScan(utf8, control_at, control, lf, cr, crlf, quotes, last[-1:] in (b"\n", b"\r"))


def line_at(path: Path, offset: int) -> int:
    """The physical line (from 1) holding the byte at ``offset``: 1 + the line breaks (CR
    LF, LF or CR alone) before it, counted in chunks."""
    lf = cr = crlf = 0
    last = b""
    with path.open("rb") as handle:
        remaining = offset
        while remaining > 0 and (chunk := handle.read(min(CHUNK_BYTES, remaining))):
            chunk_lf, chunk_cr, chunk_crlf = _count_breaks(chunk)
            lf, cr = lf + chunk_lf, cr + chunk_cr
            crlf += chunk_crlf + (last.endswith(b"\r") and chunk.startswith(b"\n"))
            remaining -= len(chunk)
            last = chunk
    return 1 + lf + cr - crlf


def _first_match(path: Path, pattern: re.Pattern[bytes]) -> int | None:
    """The offset of the first match of ``pattern`` (at most 4 bytes long) in the file."""
    consumed, tail = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            if match := pattern.search(tail + chunk):
                return consumed - len(tail) + match.start()
            consumed += len(chunk)
            tail = chunk[-3:]
    return None


def _first_undecodable(path: Path, encoding: str) -> int | None:
    """The offset of the first byte that ``encoding`` cannot decode, if any."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return consumed + error.start
            consumed += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return consumed
    return None


def choose_encoding(path: Path, scan: FileScan) -> str:
    """``utf-8`` or ``windows-1252``, one for the whole file; raise ExportError when the
    file is neither, naming the line of the first byte that cannot be read."""
    if scan.control_at is not None:
        raise ExportError(
            path,
            f"line {line_at(path, scan.control_at)}: holds the control character "
            f"0x{scan.control:02x}, which no text export contains (the file is damaged or is not a "
            "CSV export)",
        )
    if scan.utf8:
        return "utf-8"
    utf8_text = _first_match(path, UTF8_MULTIBYTE)
    if utf8_text is not None:
        bad = _first_undecodable(path, "utf-8")
        raise ExportError(
            path,
            f"line {line_at(path, bad)}: holds a byte that is not UTF-8, in a file holding "
            f"UTF-8 text (from line {line_at(path, utf8_text)}); a file has one encoding, so "
            "this one is damaged or was put together from files of different encodings",
        )
    bad = _first_undecodable(path, "cp1252")
    if bad is not None:
        raise ExportError(
            path,
            "cannot be decoded as UTF-8 or Windows-1252 "
            f"(first undecodable byte on line {line_at(path, bad)})",
        )
    return "windows-1252"


def readable_copy(path: Path, workdir: Path, encoding: str, normalise: bool) -> Path:
    """A UTF-8 copy of ``path`` in ``workdir``, its line breaks made line feeds when
    ``normalise`` (each break stays one break, so line numbers hold)."""
    target = workdir / path.name
    carry = b""
    with path.open("rb") as source, target.open("wb") as sink:
        first = True
        while chunk := source.read(CHUNK_BYTES):
            data = carry + chunk
            if first and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            first = False
            carry = b""
            if normalise:
                if data.endswith(b"\r"):  # maybe the first half of a CR LF pair
                    data, carry = data[:-1], b"\r"
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if encoding != "utf-8":
                data = data.decode("cp1252").encode("utf-8")
            sink.write(data)
        if carry:
            sink.write(b"\n")
    return target


def _trailing_blank_lines(path: Path) -> int:
    """Empty lines at the end of the file (after its last line holding anything)."""
    size = path.stat().st_size
    suffix = b""
    with path.open("rb") as handle:
        while len(suffix) < size:
            start = max(0, size - len(suffix) - 65536)
            handle.seek(start)
            block = handle.read(size - len(suffix) - start)
            stripped = block.rstrip(BREAK_BYTES)
            suffix = block[len(stripped) :] + suffix
            if stripped:
                break
    lf, cr, crlf = _count_breaks(suffix)
    return max(lf + cr - crlf - 1, 0)


def _blank_line_runs(path: Path, line_break: bytes) -> list[tuple[int, int]]:
    """Each run of empty lines in the file: (its first line, how many lines)."""
    run = re.compile(b"(?:" + re.escape(line_break) + b"){2,}")
    runs: list[tuple[int, int]] = []
    lines_before, carry = 0, b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            data = carry + chunk
            # a run reaching the end of the chunk may go on in the next one
            cut = len(data.rstrip(BREAK_BYTES)) if chunk else len(data)
            counted = 0
            for match in run.finditer(data, 0, cut if chunk else len(data)):
                lines_before += data.count(line_break, counted, match.start())
                first_empty = lines_before + 2  # the line after the run's first break
                breaks = (match.end() - match.start()) // len(line_break)
                runs.append((first_empty, breaks - 1))
                lines_before += breaks
                counted = match.end()
            lines_before += data.count(line_break, counted, cut)
            carry = data[cut:]
            if not chunk:
                return runs


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


def _skip_breaks(path: Path, offset: int) -> int:
    """The offset of the first byte at or after ``offset`` that is not a line break."""
    with path.open("rb") as handle:
        handle.seek(offset)
        while block := handle.read(65536):
            stripped = block.lstrip(BREAK_BYTES)
            offset += len(block) - len(stripped)
            if stripped:
                break
    return offset


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
    if located is None:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        first_line = re.sub(r"\s*on Line: \d+", "", first_line.split("Original Line")[0])
        return ExportError(path, f"is not a well-formed CSV file ({first_line[:160].strip()})")
    record_at, value_at, column, kind = located
    # positions from 1; the record's position may point at blank lines before it
    start = _skip_breaks(readable, record_at - 1) if record_at else value_at - 1
    where = f"line {line_at(readable, start)}"
    if kind in FIELD_COUNT_ERRORS:
        return ExportError(
            path, f"{where}: {FIELD_COUNT_ERRORS[kind]} the {len(header)} in the header"
        )
    if column and column <= len(header):
        where += f", column {column} ({header[column - 1]})"
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
    con: duckdb.DuckDBPyConnection, table: str, readable: Path, lines: Lines
) -> list[tuple[int, int]]:
    """Runs of blank lines between records, which DuckDB's reader skips: (the index of
    the record after the run, its lines). A run of empty lines inside a quoted value is
    the value's. Walks the runs (rare), not the rows."""
    last_line = lines.header + lines.data  # the empty lines at the end are not counted
    runs = [run for run in _blank_line_runs(readable, lines.line_break) if run[0] <= last_line]
    if not runs:
        return []
    # ends[i]: lines taken by records 0..i-1 (from the first line after the header)
    ends = [0] + [
        total
        for (total,) in con.execute(
            f"select sum(1 + _breaks) over (order by rowid) from {table} order by rowid"
        ).fetchall()
    ]
    skipped: list[tuple[int, int]] = []
    skipped_lines = 0
    for first, count in runs:
        position = first - lines.header - 1 - skipped_lines  # as if no blank line were skipped
        index = bisect.bisect_left(ends, position)
        if position >= 0 and index < len(ends) and ends[index] == position:
            skipped.append((index, count))
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
        _skipped_blank_lines(con, table, readable, lines) if lines.data > rows + inside else []
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
    con: duckdb.DuckDBPyConnection, path: Path, table: str, width: int, scan: FileScan
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
    if too_few_at == last_line and scan.quotes % 2:
        # DuckDB's reader on one thread ends an unclosed quote at the end of the file
        # without a word, leaving the row short
        raise ExportError(
            path, f"line {too_few_at}: a quoted value is not closed before the end of the file"
        )
    raise ExportError(path, f"line {too_few_at}: fewer fields than the {width} in the header")


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
    scan = scan_file(path)
    encoding = choose_encoding(path, scan)
    kinds = scan.break_kinds
    normalise = len(kinds) > 1
    readable = (
        readable_copy(path, workdir, encoding, normalise)
        if normalise or encoding != "utf-8"
        else path
    )
    header, header_lines = _header(path, readable)
    extra = _check_columns(path, header, export_file)
    all_lines = scan.breaks + (0 if scan.ends_with_break else 1)
    lines = Lines(
        header=header_lines,
        data=all_lines - _trailing_blank_lines(readable) - header_lines,
        line_break=b"\n" if normalise or not kinds else kinds[0],
    )

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

    expected = manifest.row_counts[export_file.file_name]
    count_breaks = lines.data != expected
    rows_read = read(count_breaks)
    if lines.data != rows_read and not count_breaks:
        rows_read = read(count_breaks=True)
    numbered = number_lines(con, table, readable, lines, rows_read)
    _check_shape(con, path, table, width, scan)
    for column in ("_too_many_fields", "_too_few_fields", "_breaks"):
        con.execute(f"alter table {table} drop column if exists {column}")
    if not numbered:
        con.execute(f"drop table {table}")
        raise ExportError(
            path,
            "its records do not add up to its lines (the CSV reader and the line count "
            "disagree); the file is damaged",
        )
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
