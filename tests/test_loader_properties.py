"""Property-based tests of the loader (Hypothesis): ``load_export`` into a real DuckDB file,
on goals.csv files drawn at random (rows, quoting, embedded commas, quotes and line
breaks, blank lines, encodings, line endings, column order, an extra column, unicode,
control characters, long values, a row with a field too many or too few).

Whatever the file, the loader either loads it or raises ExportError, never anything
else; a file that the contract allows always loads, every row in ``raw.goals`` with its
values and the physical line where its record starts; a refused file is named with the
line at fault; and no message holds a value of a row (every value carries a marker,
``ZQ``, that no message may show)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from exports import COLUMNS, csv_field, line_breaks, set_row_count, write_export
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dcrs.load import ExportError, load_export

GOAL_COLUMNS = list(COLUMNS["goals.csv"])
MARKER = "ZQ"
CONTROL = "\x00\x07\x0b\x0c\x1b\x7f"
# what values are made of; repeated characters are drawn more often
PLAIN = "abcXYZ019 -/.'" * 3 + ',"' * 2 + "\t"
BREAKS = "\n\r"
UTF8_ONLY = "é’–中😀\u2028\u0085"
# Windows-1252 text with no lead byte of a UTF-8 sequence (0xC2-0xF4), so that a file of
# it cannot also be read as UTF-8: the characters of bytes 0x80-0xBF
CP1252_ONLY = "€‘’“”–—£°©½"
ENDINGS = {"LF": ["\n"], "CRLF": ["\r\n"], "CR": ["\r"], "mixed": ["\n", "\r\n", "\r"]}


@dataclass
class Case:
    """A drawn goals.csv: its bytes, and what the loader must make of it."""

    data: bytes
    encoding: str
    rows: list[dict[str, str]]  # the goal columns' values of each data row
    lines: list[int]  # the physical line where each row starts
    extra: list[str]  # the extra column, if any
    error_line: int | None  # the line a refusal must name
    error_words: str | None  # and what it must say


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def breaks_are_mixed(text: str) -> bool:
    crlf = text.count("\r\n")
    return (
        sum(bool(count) for count in (crlf, text.count("\n") - crlf, text.count("\r") - crlf)) > 1
    )


@st.composite
def goals_files(draw: st.DrawFn) -> Case:
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    alphabet = PLAIN + BREAKS + (CP1252_ONLY if encoding == "cp1252" else UTF8_ONLY)
    if draw(st.integers(0, 9)) == 0:  # now and then a control character
        alphabet += CONTROL
    ending_kind = draw(st.sampled_from(sorted(ENDINGS)))
    endings = ENDINGS[ending_kind]
    event(f"{encoding}, {ending_kind} line endings")
    quote_all = draw(st.booleans())
    extra = ["notes"] if draw(st.booleans()) else []
    header = draw(st.permutations(GOAL_COLUMNS + extra))
    header_text = [name.upper() if draw(st.booleans()) else name for name in header]

    def value(row: int, column: int) -> str:
        kind = draw(st.integers(0, 9))
        if kind == 0:
            return ""
        if kind == 1:  # a long value
            return f"{MARKER}{row}x{column}Q" + draw(st.sampled_from(alphabet)) * draw(
                st.integers(1_000, 20_000)
            )
        return f"{MARKER}{row}x{column}Q" + draw(st.text(alphabet, max_size=12))

    count = draw(st.integers(0, 6))
    rows = [
        {name: value(row, column) for column, name in enumerate(header)} for row in range(count)
    ]
    damage = draw(st.sampled_from(["none", "none", "too few", "too many"])) if count else "none"
    damaged = draw(st.integers(0, count - 1)) if count else None

    text = ",".join(header_text) + draw(st.sampled_from(endings))
    lines: list[int] = []
    for index, row in enumerate(rows):
        text += draw(st.sampled_from(endings)) * draw(st.sampled_from([0, 0, 0, 1, 2]))
        lines.append(line_breaks(text) + 1)
        fields = [csv_field(row[name], quote_all) for name in header]
        if index == damaged and damage == "too few":
            fields = fields[:-1]
        if index == damaged and damage == "too many":
            fields.append(csv_field(f"{MARKER}extra", quote_all))
        text += ",".join(fields) + draw(st.sampled_from(endings))
    text += draw(st.sampled_from(endings)) * draw(st.sampled_from([0, 0, 1, 2]))

    error_line, error_words = None, None
    control = [text.index(character) for character in CONTROL if character in text]
    if control:
        error_line, error_words = line_breaks(text[: min(control)]) + 1, "control character"
    elif damage != "none":
        error_line = lines[damaged]
        error_words = f"{'fewer' if damage == 'too few' else 'more'} fields than the {len(header)}"
    event(f"refused: {error_words}" if error_words else "loads")
    inside = sum(line_breaks(value) for row in rows for value in row.values())
    event(f"line breaks in quoted values: {inside > 0}")
    event(f"blank lines: {line_breaks(text) - 1 - len(rows) - inside > 0}")
    if breaks_are_mixed(text):  # read with every line break a line feed
        rows = [
            {name: value.replace("\r\n", "\n").replace("\r", "\n") for name, value in row.items()}
            for row in rows
        ]
    return Case(
        data=text.encode(encoding),
        encoding="windows-1252" if not is_utf8(text.encode(encoding)) else "utf-8",
        rows=[{name: row[name] for name in GOAL_COLUMNS} for row in rows],
        lines=lines,
        extra=extra,
        error_line=error_line,
        error_words=error_words,
    )


def load(folder: Path, case: Case) -> tuple[duckdb.DuckDBPyConnection, object]:
    """A small valid export whose goals.csv is the case's, loaded into a DuckDB file."""
    export = write_export(folder / "export", [])
    (export / "clients.csv").write_text(
        ",".join(COLUMNS["clients.csv"]) + "\nKC1" + "," * (len(COLUMNS["clients.csv"]) - 1) + "\n"
    )
    set_row_count(export, "clients.csv", 1)
    (export / "goals.csv").write_bytes(case.data)
    set_row_count(export, "goals.csv", len(case.rows))
    con = duckdb.connect(str(folder / "loaded.duckdb"))
    try:
        return con, load_export(con, export, temp_dir=folder / "tmp")
    except ExportError as error:
        return con, error


@pytest.mark.fast
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=goals_files())
def test_the_loader_loads_or_refuses_by_line_without_values(case: Case) -> None:
    with tempfile.TemporaryDirectory() as folder:
        con, outcome = load(Path(folder), case)
        with con:
            if case.error_line is not None:
                assert isinstance(outcome, ExportError), "a damaged file was loaded"
                problem = outcome.problem
                assert outcome.path.name == "goals.csv"
                assert problem.startswith(f"line {case.error_line}:"), problem
                assert case.error_words in problem, problem
                assert MARKER not in problem, "a value was shown"
                return
            assert not isinstance(outcome, ExportError), outcome.problem
            loaded = {file.file_name: file for file in outcome.files}["goals.csv"]
            assert loaded.rows_read == len(case.rows)
            assert loaded.encoding == case.encoding
            assert loaded.extra_columns == case.extra
            found = con.execute(
                f"select source_line, {', '.join(GOAL_COLUMNS)} from raw.goals order by rowid"
            ).fetchall()
    expected = [
        (line, *(row[name] or None for name in GOAL_COLUMNS))
        for line, row in zip(case.lines, case.rows, strict=True)
    ]
    assert found == expected
