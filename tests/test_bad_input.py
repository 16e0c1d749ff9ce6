"""Each class of bad input in the export contract gets its documented outcome."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_EXPORT, connect, run_dcrs
from exports import (
    COLUMNS,
    client,
    csv_bytes,
    read_rows,
    set_manifest,
    set_row_count,
    write_export,
    write_rows,
)
from filelock import FileLock

from dcrs.load import ExportError, load_export, read_manifest
from dcrs.pipeline import STORAGE_VERSION
from dcrs.settings import schema_version

DELETE = object()  # a manifest key to remove


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A stand-in for a warehouse published by an earlier good run: a DuckDB file of the
    current schema version holding the July extract of the sample's service. A refused
    export must leave it byte for byte as it was."""
    warehouse = tmp_path / "published" / "dcrs.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as published (storage_version '{STORAGE_VERSION}')")
        con.execute("use published")
        con.execute("create schema history; create schema audit")
        con.execute(
            "create table history.loaded_extracts as select 'KC' as service_code, "
            "date '2010-07-31' as extract_date"
        )
        con.execute(
            "create table audit.warehouse_schema as select ?::integer as schema_version",
            [schema_version()],
        )
    return warehouse


def drop_column(export: Path, file_name: str, column: str) -> None:
    rows = read_rows(export, file_name)
    columns = [name for name in rows[0] if name != column]
    write_rows(export, file_name, rows, columns=columns)


def remove_last_row(export: Path, file_name: str) -> None:
    rows = read_rows(export, file_name)
    write_rows(export, file_name, rows[:-1], update_manifest=False)


def corrupt_bytes(export: Path, file_name: str) -> None:
    path = export / file_name
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",", b",\x81\x9d", 1)
    path.write_bytes(b"\n".join(lines))


def replace_in_line(export: Path, file_name: str, line: int, old: bytes, new: bytes) -> None:
    """Replace the first ``old`` on physical line ``line`` (from 1) of a CRLF file."""
    path = export / file_name
    lines = path.read_bytes().split(b"\r\n")
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_bytes(b"\r\n".join(lines))


def put_control_character(export: Path, file_name: str) -> None:
    path = export / file_name
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",", b",\x07", 1)
    path.write_bytes(b"\n".join(lines))


UNTRUSTED = {
    "missing file": (
        lambda export: (export / "goals.csv").unlink(),
        "goals.csv: required file is missing",
    ),
    "missing column": (
        lambda export: drop_column(export, "clients.csv", "bmi"),
        "clients.csv: line 1: required column bmi is missing",
    ),
    "row count differs from the manifest": (
        lambda export: remove_last_row(export, "goals.csv"),
        "goals.csv: holds 255 data rows but manifest.json says 256",
    ),
    "undecodable file": (
        lambda export: corrupt_bytes(export, "clients.csv"),
        "clients.csv: cannot be decoded as UTF-8 or Windows-1252 "
        "(first undecodable byte on line 6)",
    ),
    "control character": (
        lambda export: put_control_character(export, "clients.csv"),
        "clients.csv: line 6: holds the control character 0x07, which no text export contains",
    ),
    "missing manifest": (
        lambda export: (export / "manifest.json").unlink(),
        "manifest.json: the manifest is missing",
    ),
    "unreadable manifest": (
        lambda export: (export / "manifest.json").write_text("{not json"),
        "manifest.json: the manifest cannot be read as JSON",
    ),
    "manifest without a count": (
        lambda export: (export / "manifest.json").write_text(
            json.dumps(
                {
                    "service_code": "KC",
                    "service_name": "x",
                    "extract_date": "2010-08-31",
                    "row_counts": {},
                }
            )
        ),
        'manifest.json: row_counts["clients.csv"] is missing; it must be a whole number',
    ),
    "manifest with a null service code": (
        lambda export: set_manifest(export, service_code=None),
        "manifest.json: service_code is null; it must be a code of 1 to 16 letters and digits",
    ),
    "manifest with an extract date in the future": (
        lambda export: set_manifest(export, extract_date="2099-12-31"),
        "manifest.json: extract_date is after today",
    ),
    "UTF-8 file holding a Windows-1252 byte": (
        lambda export: replace_in_line(export, "goals.csv", 10, b"Diet", b"Diet \x96"),
        "goals.csv: line 10: holds a byte that is not UTF-8, in a file holding UTF-8 text "
        "(from line 3)",
    ),
    "clients.csv with a header only": (
        lambda export: write_rows(export, "clients.csv", []),
        "clients.csv: holds no data rows; an export holds at least one (only goals.csv and "
        "wellbeing_scores.csv may hold a header only)",
    ),
    "field of 5 MB": (
        lambda export: replace_in_line(export, "clients.csv", 6, b"SW50QF", b"SW50QF" * 900_000),
        "clients.csv: line 6: the line is longer than 2,000,000 bytes",
    ),
    "malformed CSV row": (
        lambda export: (export / "health_trainers.csv").write_text(
            (export / "health_trainers.csv").read_text().replace("North", "North,extra", 1)
        ),
        "health_trainers.csv: line 2: more fields than the 6 in the header",
    ),
    "CSV row with too few fields": (
        lambda export: (
            (export / "goals.csv").write_text(
                (export / "goals.csv")
                .read_text()
                .replace("\r\n", "\n")
                .replace("\n", "\nG0000,KC001014\n", 1)
            )
            or set_row_count(export, "goals.csv", 257)
        ),
        "goals.csv: line 2: fewer fields than the 6 in the header",
    ),
    "unterminated quote": (
        lambda export: (export / "goals.csv").write_text(
            (export / "goals.csv").read_text().replace(",Achieved", ',"Achieved', 1)
        ),
        "goals.csv: line 2, column 5 (outcome): a quoted value is not closed",
    ),
}


@pytest.mark.fast
@pytest.mark.parametrize("case", sorted(UNTRUSTED))
def test_untrusted_export_is_refused_and_publishes_nothing(case, export_copy, published):
    damage, message = UNTRUSTED[case]
    before = digest(published)
    damage(export_copy)
    result = run_dcrs(export_copy, published)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Export cannot be trusted" in result.stderr
    assert message in result.stderr
    assert "last good warehouse was left as it was" in result.stderr
    assert digest(published) == before
    left = sorted(path.name for path in published.parent.iterdir())
    # no build folder is left; the refusal is remembered (dcrs.inbox)
    assert set(left) <= {
        "dcrs.duckdb",
        "dcrs.duckdb.lock",
        "dcrs.duckdb.refused.json",
        "dcrs.duckdb.refused.json.lock",
    }, left


@pytest.mark.fast
def test_first_run_with_untrusted_export_creates_no_warehouse(export_copy, tmp_path):
    (export_copy / "goals.csv").unlink()
    warehouse = tmp_path / "new" / "dcrs.duckdb"
    result = run_dcrs(export_copy, warehouse)
    assert result.returncode == 2
    assert not warehouse.exists()


@pytest.fixture(scope="module")
def damaged_rows_run(tmp_path_factory, sample_warehouse):
    """One export holding every class of unusable row and value, run once."""
    export = tmp_path_factory.mktemp("damaged") / "export"
    shutil.copytree(SAMPLE_EXPORT, export)
    clients = read_rows(export, "clients.csv")
    first, second, third, fourth = clients[0], clients[1], clients[2], clients[3]
    # line 2 is clients[0]
    duplicate = {**first, "gender": "Male"}  # a later row with the same key wins
    second["registration_date"] = "31/02/2010"  # unparseable: row rejected
    third["eligible"] = "Yes"
    third["bmi"] = "95.0"  # out of range: value Invalid
    fourth["gender"] = "Femail"  # in no code list: value Invalid
    fourth["initial_assessment_date"] = "2010-04-01"  # not DD/MM/YYYY: value listed
    write_rows(export, "clients.csv", [*clients, duplicate])

    scores = read_rows(export, "wellbeing_scores.csv")
    # two scores of one client and stage on instruments in no code list: both kept, as
    # Invalid, and told apart by their labels
    unknown_instruments = [
        {**scores[0], "client_id": fourth["client_id"], "instrument": name, "stage": "baseline"}
        for name in ("mood scale", "sleep scale")
    ]
    write_rows(export, "wellbeing_scores.csv", [*scores, *unknown_instruments])

    goals = read_rows(export, "goals.csv")
    orphan = {**goals[0], "goal_id": "G9999", "client_id": "KC999999"}
    write_rows(export, "goals.csv", [*goals, orphan])

    warehouse = export.parent / "dcrs.duckdb"
    result = run_dcrs(export, warehouse)
    return {
        "result": result,
        "warehouse": warehouse,
        "clients": clients,
        "goals": goals,
        "scores": scores,
        "second_id": second["client_id"],
        "first": first,
    }


def issues(run, file_name: str) -> list[tuple]:
    with connect(run["warehouse"]) as con:
        return con.execute(
            "select line, column_name, value, reason, outcome from audit.load_issue_values "
            "where file_name = ? order by line, column_name",
            [file_name],
        ).fetchall()


def test_unusable_rows_and_values_do_not_stop_the_run(damaged_rows_run):
    result = damaged_rows_run["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    second_id = damaged_rows_run["second_id"]
    dependent = [
        row
        for row in damaged_rows_run["goals"] + damaged_rows_run["scores"]
        if row["client_id"] == second_id
    ]
    # two client rows, the goals and scores of the rejected client, and the orphan goal
    assert f"rows rejected {2 + len(dependent) + 1}," in result.stdout


def test_every_row_is_staged_or_listed(damaged_rows_run):
    with connect(damaged_rows_run["warehouse"]) as con:
        rows = con.execute(
            "select file_name, rows_read, rows_staged, rows_rejected, reconciles "
            "from audit.load_reconciliation order by file_name"
        ).fetchall()
    for file_name, read, staged, rejected, reconciles in rows:
        assert read == staged + rejected, file_name
        assert reconciles, file_name
    assert rows[0][:4] == ("clients.csv", 117, 115, 2)


def test_duplicate_key_keeps_the_later_row(damaged_rows_run):
    client_issues = issues(damaged_rows_run, "clients.csv")
    first_id = damaged_rows_run["first"]["client_id"]
    assert (
        2,
        "client_id",
        first_id,
        "duplicate client_id: line 118 is kept instead",
        "row rejected",
    ) in client_issues
    with connect(damaged_rows_run["warehouse"]) as con:
        (gender,) = con.execute(
            "select gender from intermediate.int_clients_validated where client_id = ?",
            [first_id],
        ).fetchone()
    assert gender == "Male"


def test_unparseable_registration_date_rejects_the_row(damaged_rows_run):
    assert (
        3,
        "registration_date",
        "31/02/2010",
        "registration_date is not a DD/MM/YYYY date",
        "row rejected",
    ) in issues(damaged_rows_run, "clients.csv")


def test_goals_of_a_rejected_client_and_orphan_goals_are_listed(damaged_rows_run):
    goal_issues = issues(damaged_rows_run, "goals.csv")
    orphan_line = len(damaged_rows_run["goals"]) + 2
    assert (
        orphan_line,
        "client_id",
        "KC999999",
        "client_id is not a staged client",
        "row rejected",
    ) in goal_issues
    second_id = damaged_rows_run["second_id"]
    second_goals = [goal for goal in damaged_rows_run["goals"] if goal["client_id"] == second_id]
    listed = [issue for issue in goal_issues if issue[2] == second_id]
    assert len(listed) == len(second_goals)


def test_out_of_range_bmi_and_unknown_label_count_as_invalid(damaged_rows_run):
    client_issues = issues(damaged_rows_run, "clients.csv")
    assert (4, "bmi", "95.0", "outside 12 to 90", "value counted as Invalid") in client_issues
    assert (
        5,
        "gender",
        "Femail",
        "not in the gender code list",
        "value counted as Invalid",
    ) in client_issues
    assert (
        5,
        "initial_assessment_date",
        "2010-04-01",
        "not a DD/MM/YYYY date",
        "value counted as Invalid",
    ) in client_issues
    with connect(damaged_rows_run["warehouse"]) as con:
        invalid = dict(
            con.execute(
                "select measure_id, n from marts.measure_breakdown where category = 'Invalid' "
                "and measure_id in ('bmi_band', 'gender')"
            ).fetchall()
        )
        (denominator,) = con.execute(
            "select distinct denominator from marts.measure_breakdown "
            "where measure_id = 'gender' and category = 'Female'"
        ).fetchone()
    assert invalid == {"bmi_band": 1, "gender": 1}
    assert denominator == 114  # 115 staged clients less the Invalid one


def test_scores_on_unknown_instruments_are_kept_as_invalid(damaged_rows_run):
    """Two scores of one client and stage whose instruments are in no code list are both
    kept, each listed as an Invalid value, and stay two records in the history (a run with
    them failed before: both had the record key client | Invalid | baseline)."""
    score_issues = issues(damaged_rows_run, "wellbeing_scores.csv")
    first_new_line = len(damaged_rows_run["scores"]) + 2
    for line, name in ((first_new_line, "mood scale"), (first_new_line + 1, "sleep scale")):
        assert (
            line,
            "instrument",
            name,
            "not in the instrument code list",
            "value counted as Invalid",
        ) in score_issues
    client_id = damaged_rows_run["clients"][3]["client_id"]
    with connect(damaged_rows_run["warehouse"]) as con:
        keys = con.execute(
            "select record_key from history.record_versions where entity = 'wellbeing_score' "
            "and record_key like ? || ' | Invalid%' order by record_key",
            [client_id],
        ).fetchall()
    assert keys == [
        (f"{client_id} | Invalid mood scale | baseline",),
        (f"{client_id} | Invalid sleep scale | baseline",),
    ]


@pytest.mark.fast
def test_a_second_run_gives_up_after_waiting_its_turn(published):
    """While one run holds the warehouse, another waits for it up to --wait seconds, then
    exits 5 and changes nothing (that it runs once the lock is free: test_release.py)."""
    before = digest(published)
    with FileLock(published.parent / "dcrs.duckdb.lock"):
        result = run_dcrs(SAMPLE_EXPORT, published, None, "--wait", "1")
    assert result.returncode == 5, result.stdout + result.stderr
    assert "waiting for it to end (up to 1 s)" in result.stdout
    assert "another run has been building this warehouse for over 1 s" in result.stderr
    assert digest(published) == before


@pytest.mark.fast
def test_line_numbers_hold_in_a_file_read_in_parallel(tmp_path):
    """The loader takes a row's line from the order DuckDB's CSV reader keeps, which must
    hold when a file is read in parallel, in pieces: in a 300,000-client export (clients.csv
    about 50 MB) every client's source_line is the line it is on, and a row with too few
    fields deep in the file is reported at its own line, leaving no raw table."""
    from dcrs.generate import generate
    from dcrs.load import ExportError, load_export

    export = generate(tmp_path / "exports", 300_000, seed=11)[-1]
    path = export / "clients.csv"
    lines = path.read_bytes().split(b"\n")
    assert path.stat().st_size > 40_000_000
    expected = {
        number: lines[number - 1].split(b",", 1)[0].decode()
        for number in (2, 1_000, 123_457, 200_001, 300_001)
    }

    with connect(tmp_path / "good.duckdb", read_only=False) as con:
        load_export(con, export)
        found = dict(
            con.execute(
                "select source_line, client_id from raw.clients where source_line in ?",
                [list(expected)],
            ).fetchall()
        )
        numbered = con.execute(
            "select count(*), min(source_line), max(source_line), "
            "count(distinct source_line) from raw.clients"
        ).fetchone()
    assert found == expected
    assert numbered == (300_000, 2, 300_001, 300_000)

    short_line = 234_567
    lines[short_line - 1] = lines[short_line - 1].rsplit(b",", 1)[0]
    path.write_bytes(b"\n".join(lines))
    with connect(tmp_path / "short.duckdb", read_only=False) as con:
        with pytest.raises(ExportError, match=f"line {short_line}: fewer fields than the"):
            load_export(con, export)
        # the refused file leaves no raw table behind
        assert con.execute("select table_name from duckdb_tables()").fetchall() == []


# --- the loader on hostile files (in process: load_export into a real DuckDB file) ----------


def small_export(folder: Path) -> Path:
    """Three clients (line 2: KC1, 3: KC2, 4: KC3), one goal, one trainer."""
    return write_export(
        folder / "export",
        [client("KC1"), client("KC2"), client("KC3")],
        goals=[
            {
                "goal_id": "G1",
                "client_id": "KC1",
                "goal_set_date": "16/03/2010",
                "goal": "Diet - Change",
                "outcome": "",
                "outcome_date": "",
            }
        ],
    )


def load_into(folder: Path, export: Path, **options) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(folder / "loaded.duckdb"))
    load_export(con, export, **options)
    return con


def client_lines(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select source_line, client_id, referral_source_other from raw.clients order by all"
    ).fetchall()


HIDDEN = client("KC9", date_of_birth="17/05/1961", postcode="NW3 7QT", ward="Fitzrovia Hidden")


def with_hidden_row(export: Path, damage: Callable[[bytes], bytes]) -> list[str]:
    """Put the client HIDDEN on line 3 of clients.csv, damaged by ``damage`` (its CSV line,
    without the line break); return its values that no message may show."""
    write_rows(export, "clients.csv", [client("KC1"), HIDDEN, client("KC3")])
    path = export / "clients.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[2] = damage(lines[2])
    path.write_bytes(b"\r\n".join(lines))
    return [value for value in HIDDEN.values() if len(value) >= 4 and value != "HT01"]


MALFORMED_ROWS = {
    "quote not closed": (lambda line: line.replace(b"NW3 7QT", b'"NW3 7QT', 1), "column 8"),
    "characters after the closing quote": (
        lambda line: line.replace(b"NW3 7QT", b'"NW3" 7QT', 1),
        "column 8 (postcode): a quoted value is not closed, or has characters after",
    ),
    "field of 3 MB": (
        lambda line: line.replace(b"Fitzrovia Hidden", b"Fitzrovia Hidden" * 200_000, 1),
        "longer than 2,000,000 bytes",
    ),
    "too many fields": (lambda line: line + b",extra,NW3 7QT", "more fields than the 18"),
    "too few fields": (lambda line: line.rsplit(b",", 3)[0], "fewer fields than the 18"),
    "control character": (
        lambda line: line.replace(b"NW3", b"NW3\x0b", 1),
        "holds the control character 0x0b",
    ),
    "Windows-1252 byte in a UTF-8 file": (
        lambda line: line.replace(b"Fitzrovia", "Fitzrovia\u2019".encode() + b"\x92", 1),
        "holds a byte that is not UTF-8, in a file holding UTF-8 text (from line 3)",
    ),
    "byte of no encoding": (
        lambda line: line.replace(b"Fitzrovia", b"Fitz\x81rovia", 1),
        "cannot be decoded as UTF-8 or Windows-1252 (first undecodable byte on line 3)",
    ),
}


@pytest.mark.fast
@pytest.mark.parametrize("case", sorted(MALFORMED_ROWS))
def test_a_malformed_row_is_named_by_line_never_by_its_values(case, tmp_path):
    """The message names the file and the line (and the column where DuckDB's reader
    knows it), and shows none of the row's values: DuckDB's own message quotes the whole
    row (date of birth, postcode), however long."""
    damage, wording = MALFORMED_ROWS[case]
    export = small_export(tmp_path)
    values = with_hidden_row(export, damage)
    with pytest.raises(ExportError) as raised:
        load_into(tmp_path, export)
    message = str(raised.value)
    assert message.startswith(f"{export / 'clients.csv'}: ")
    assert "line 3" in message
    assert wording in message
    assert not [value for value in values if value in message]
    assert len(message) < 400


@pytest.mark.fast
def test_line_numbers_count_physical_lines(tmp_path):
    """A quoted field holding line breaks, and blank lines between records: each row's
    source_line is the physical line where its record starts."""
    export = small_export(tmp_path)
    rows = [
        ["KC1", "two\r\nlines"],  # lines 2-3
        ["KC2", "three\r\nlines\r\n\r\nwith a blank one"],  # lines 4-7, then two blank lines
        ["KC3", ""],  # line 10
    ]
    header = list(COLUMNS["clients.csv"])
    data = csv_bytes(
        [header] + [list(client(key, referral_source_other=other).values()) for key, other in rows]
    )
    data = data.replace(b"\r\nKC3,", b"\r\n\r\n\r\nKC3,") + b"\r\n"  # and one at the end
    (export / "clients.csv").write_bytes(data)
    con = load_into(tmp_path, export)
    assert client_lines(con) == [
        (2, "KC1", "two\r\nlines"),
        (4, "KC2", "three\r\nlines\r\n\r\nwith a blank one"),
        (10, "KC3", None),
    ]


@pytest.mark.fast
def test_mixed_line_endings_load(tmp_path):
    """CR LF, LF and CR alone in one file (DuckDB's reader takes one kind per file): the
    file loads, each row on its own line."""
    export = small_export(tmp_path)
    header = list(COLUMNS["clients.csv"])
    rows = [header] + [list(client(key).values()) for key in ("KC1", "KC2", "KC3")]
    (export / "clients.csv").write_bytes(csv_bytes(rows, endings=["\r\n", "\n", "\r", "\r\n"]))
    con = load_into(tmp_path, export)
    assert client_lines(con) == [(2, "KC1", None), (3, "KC2", None), (4, "KC3", None)]


@pytest.mark.fast
def test_mixed_line_endings_and_a_quoted_line_break(tmp_path):
    """A spreadsheet's CSV: CR LF between records, LF inside a quoted field; then an LF
    record. The quoted break stays a line feed."""
    export = small_export(tmp_path)
    header = list(COLUMNS["clients.csv"])
    rows = [header] + [
        list(client(key, referral_source_other=other).values())
        for key, other in (("KC1", "a\nb"), ("KC2", ""), ("KC3", ""))
    ]
    (export / "clients.csv").write_bytes(csv_bytes(rows, endings=["\r\n", "\r\n", "\n", "\r\n"]))
    con = load_into(tmp_path, export)
    assert client_lines(con) == [(2, "KC1", "a\nb"), (4, "KC2", None), (5, "KC3", None)]


@pytest.mark.fast
def test_windows_1252_file_loads_as_one_encoding(tmp_path):
    """A clean Windows-1252 file (no UTF-8 sequence in it) loads, decoded as
    Windows-1252 throughout."""
    export = small_export(tmp_path)
    write_rows(
        export,
        "clients.csv",
        [client("KC1", ward="Earl\u2019s Court"), client("KC2"), client("KC3", ward="Caf\u00e9")],
        encoding="cp1252",
    )
    con = load_into(tmp_path, export)
    assert con.execute("select ward from raw.clients order by source_line").fetchall() == [
        ("Earl\u2019s Court",),
        ("Golborne",),
        ("Caf\u00e9",),
    ]
    assert con.execute(
        "select encoding from raw.export_files where file_name = 'clients.csv'"
    ).fetchall() == [("windows-1252",)]


@pytest.mark.fast
def test_temporary_copies_go_to_the_folder_given(tmp_path):
    """A Windows-1252 file is copied as UTF-8 into a folder inside ``temp_dir`` while it
    loads (a killed load leaves it there, for its caller to clean), and removed after."""
    from dcrs.generate import generate

    export = generate(tmp_path / "exports", 100_000, seed=3)[-1]
    clients = export / "clients.csv"
    data = clients.read_bytes()
    assert b"White - British" in data
    clients.write_bytes(data.replace(b"White - British", "White \u2013 British".encode("cp1252")))
    temp_dir = tmp_path / "warehouse" / "tmp"
    seen: set[Path] = set()
    loading = threading.Thread(
        target=load_into, args=(tmp_path, export), kwargs={"temp_dir": temp_dir}
    )
    loading.start()
    while loading.is_alive():
        # the folder, or the load's own folder in it, may go while it is listed
        with contextlib.suppress(FileNotFoundError):
            seen.update(temp_dir.glob("*/*.csv"))
        time.sleep(0.002)
    loading.join()
    assert [path.name for path in seen] == ["clients.csv"]
    assert list(temp_dir.iterdir()) == []


MANIFEST_BREACHES = {
    "service_code null": ({"service_code": None}, "service_code is null"),
    "service_code a list": ({"service_code": ["KC"]}, "service_code is a list"),
    "service_code with a space": ({"service_code": "K C"}, "service_code is not 1 to 16"),
    "service_code too long": ({"service_code": "K" * 17}, "service_code is not 1 to 16"),
    "service_name blank": ({"service_name": "  "}, "service_name is blank"),
    "service_name of two lines": (
        {"service_name": "Kensington\nand Chelsea"},
        "service_name holds a line break",
    ),
    "service_name a number": ({"service_name": 7}, "service_name is a number"),
    "extract_date a number": ({"extract_date": 20100831}, "extract_date is a number"),
    "extract_date an ISO week": (
        {"extract_date": "2010-W35-2"},
        "extract_date is not written YYYY-MM-DD",
    ),
    "extract_date not a day": ({"extract_date": "2010-02-30"}, "is not a date of the calendar"),
    "extract_date in the future": ({"extract_date": "2099-12-31"}, "extract_date is after today"),
    "row_counts a list": ({"row_counts": [1, 2]}, "row_counts is a list"),
    "row count null": (
        {"row_counts": {"clients.csv": None}},
        'row_counts["clients.csv"] is null; it must be a whole number of data rows',
    ),
    "row count true": ({"row_counts": {"goals.csv": True}}, 'row_counts["goals.csv"] is true'),
    "row count a decimal": ({"row_counts": {"goals.csv": 3.0}}, '["goals.csv"] is a number'),
    "row count as text": ({"row_counts": {"goals.csv": "3"}}, 'row_counts["goals.csv"] is text'),
    "row count negative": ({"row_counts": {"goals.csv": -1}}, '["goals.csv"] is negative'),
    "service_code missing": ({"service_code": DELETE}, "service_code is missing"),
}


@pytest.mark.fast
@pytest.mark.parametrize("case", sorted(MANIFEST_BREACHES))
def test_manifest_values_are_checked_against_the_schema(case, export_copy):
    changes, wording = MANIFEST_BREACHES[case]
    path = export_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    for key, value in changes.items():
        if key == "row_counts" and isinstance(value, dict):
            manifest["row_counts"].update(value)
        elif value is DELETE:
            del manifest[key]
        else:
            manifest[key] = value
    path.write_text(json.dumps(manifest))
    with pytest.raises(ExportError) as raised:
        read_manifest(export_copy)
    assert str(raised.value).startswith(f"{path}: ")
    assert wording in str(raised.value)


@pytest.mark.fast
def test_manifest_service_code_is_upper_cased_and_extra_keys_allowed(export_copy):
    set_manifest(
        export_copy,
        service_code=" kc ",
        extract_date=dt.date.today().isoformat(),
        exported_by={"system": "DCRS"},
    )
    manifest = read_manifest(export_copy)
    assert manifest.service_code == "KC"
    assert manifest.extract_date == dt.date.today()


@pytest.mark.fast
def test_manifest_naming_a_key_twice_is_refused(export_copy):
    path = export_copy / "manifest.json"
    path.write_text(path.read_text().replace("{", '{"service_code": "XX",', 1))
    with pytest.raises(ExportError, match="service_code is given more than once"):
        read_manifest(export_copy)
