"""Coded fields are checked against their lists, and wards against the service's ward list
(issue 15): a value that fails is listed in audit.load_issues, counts as Invalid, and is
published nowhere as a category. A ward holding digits (a postcode typed into the field)
is also withheld from audit.load_issues and kept out of every schema beyond staging.

One real `dcrs run` on a copy of the sample, with postcodes, a name holding digits and a
made-up name in the ward field, a curly-apostrophe spelling of a listed ward, and a label
in no code list in every other coded field of the four files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_EXPORT, connect, copy_warehouse, outputs_of, run_dbt, run_dcrs
from exports import read_rows, write_rows

WITHHELD = "(withheld: holds digits, may be a postcode)"

# line of clients.csv -> (ward written there, value listed, reason)
BAD_WARDS = {
    2: ("W10 5XX", WITHHELD, "looks like a postcode, not a ward name"),
    3: ("Sunnyvale Heights", "Sunnyvale Heights", "not in the service's ward list"),
    4: ("w105xx", WITHHELD, "looks like a postcode, not a ward name"),
    5: ("Flat 3 Golborne", WITHHELD, "holds digits, not a ward name"),
}
CURLY_EARLS_COURT = "earl\u2019s  COURT"

# file -> {column: (line, label in no code list)}; each label holds "bogus"
BAD_LABELS = {
    "clients.csv": {
        "gender": (6, "Bogus gender"),
        "ethnicity": (7, "Bogus ethnicity"),
        "disability": (8, "Bogus disability"),
        "deprivation_quintile": (9, "Bogus quintile"),
        "how_heard": (10, "Bogus how heard"),
        "referral_source": (11, "Bogus referral"),
        "eligible": (12, "Bogus eligible"),
        "primary_health_issue": (13, "Bogus health issue"),
        "signposted_to": (14, "Bogus signposting"),
    },
    "goals.csv": {"goal": (2, "Bogus - Goal"), "outcome": (3, "Bogus outcome")},
    "wellbeing_scores.csv": {"instrument": (2, "bogus instrument"), "stage": (3, "bogus stage")},
    "health_trainers.csv": {"role": (2, "Bogus role")},
}
# the measures the bad values count in, and their Invalid counts
INVALID_COUNTS = {
    "gender": 1,
    "ethnicity": 1,
    "disability": 1,
    "deprivation_quintile": 1,
    "how_heard": 1,
    "referral_source": 1,
    "eligibility": 1,
    "primary_health_issue": 1,
    "signposting": 1,
    "goal": 1,
    "goal_type": 1,
    "goal_outcome": 1,
    "ward": len(BAD_WARDS),
}


def damage(export: Path) -> int:
    """Write the bad wards and labels into ``export``; the line of the curly Earl's Court."""
    clients = read_rows(export, "clients.csv")
    for line, (ward, _listed, _reason) in BAD_WARDS.items():
        clients[line - 2]["ward"] = ward
    earls_court = next(index for index, row in enumerate(clients) if row["ward"] == "Earl's Court")
    clients[earls_court]["ward"] = CURLY_EARLS_COURT
    # primary_health_issue counts only for eligible clients
    clients[BAD_LABELS["clients.csv"]["primary_health_issue"][0] - 2]["eligible"] = "Yes"
    for file_name, columns in BAD_LABELS.items():
        rows = clients if file_name == "clients.csv" else read_rows(export, file_name)
        for column, (line, label) in columns.items():
            rows[line - 2][column] = label
        write_rows(export, file_name, rows)
    return earls_court + 2


@pytest.fixture(scope="module")
def coded_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The damaged copy of the sample, run once through the real pipeline."""
    folder = tmp_path_factory.mktemp("coded")
    export = folder / "export"
    shutil.copytree(SAMPLE_EXPORT, export)
    earls_court_line = damage(export)
    warehouse = folder / "out" / "dcrs.duckdb"
    result = run_dcrs(export, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"warehouse": warehouse, "earls_court_line": earls_court_line}


def fetch(run: dict, sql: str, parameters: list | None = None) -> list[tuple]:
    with connect(run["warehouse"]) as con:
        return con.execute(sql, parameters or []).fetchall()


def issues(run: dict, file_name: str, column: str) -> list[tuple]:
    return fetch(
        run,
        "select line, value, reason, outcome from audit.load_issues "
        "where file_name = ? and column_name = ? order by line",
        [file_name, column],
    )


def invalid_count(run: dict, measure_id: str) -> int:
    ((n,),) = fetch(
        run,
        "select n from marts.measure_breakdown where measure_id = ? and category = 'Invalid'",
        [measure_id],
    )
    return n


def tables(con: duckdb.DuckDBPyConnection, schemas: list[str]) -> list[str]:
    return [
        f'"{schema}"."{name}"'
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() and list_contains(?, table_schema)",
            [schemas],
        ).fetchall()
    ]


def found_in_tables(warehouse: Path, schemas: list[str], needles: list[str]) -> list[str]:
    """Each table (or view) of ``schemas`` holding any of ``needles`` (ignoring case)."""
    found = []
    with connect(warehouse) as con:
        for table in tables(con, schemas):
            text = repr(con.execute(f"select * from {table}").fetchall()).lower()
            found += [f"{table}: {needle}" for needle in needles if needle in text]
    return found


def found_in_files(folder: Path, needles: list[str]) -> list[str]:
    """Each Parquet, HTML or JSON file under ``folder`` holding any of ``needles``."""
    found = []
    with duckdb.connect() as con:
        for path in sorted(folder.rglob("*")):
            if path.suffix == ".parquet":
                text = repr(con.execute("select * from read_parquet(?)", [str(path)]).fetchall())
            elif path.suffix in (".html", ".json"):
                text = path.read_text(encoding="utf-8", errors="replace")
            else:
                continue
            text = text.lower()
            name = path.relative_to(folder)
            found += [f"{name}: {needle}" for needle in needles if needle in text]
    return found


def test_bad_wards_are_listed_with_their_reasons(coded_run):
    expected = [
        (line, listed, reason, "value counted as Invalid")
        for line, (_ward, listed, reason) in sorted(BAD_WARDS.items())
    ]
    assert issues(coded_run, "clients.csv", "ward") == expected


def test_bad_wards_count_as_invalid_and_a_curly_apostrophe_is_a_listed_ward(coded_run):
    assert invalid_count(coded_run, "ward") == len(BAD_WARDS)
    wards = dict(
        fetch(coded_run, "select category, n from marts.ward where n > 0 order by category")
    )
    # the sample's nine Earl's Court clients, one of them written earl’s  COURT
    assert wards["Earl's Court"] == 9
    # only the listed spellings, Not recorded and Invalid are categories
    with connect(coded_run["warehouse"]) as con:
        listed = {
            ward for (ward,) in con.execute("select ward from reference.service_wards").fetchall()
        }
    assert set(wards) - listed == {"Not recorded", "Invalid"}
    ((recorded, total, denominator),) = fetch(
        coded_run,
        "select recorded, total, (select distinct denominator from marts.ward "
        "where category = 'Golborne') from marts.data_capture where field = 'ward'",
    )
    # 116 clients, 2 with no ward in the sample, 4 Invalid: captured 110, and the
    # measure's denominator leaves the Invalid ones out
    assert (recorded, total, denominator) == (110, 116, 112)


def test_target_ward_figures_count_only_valid_wards(coded_run):
    ((in_target, with_ward),) = fetch(
        coded_run,
        "select clients_in_target_wards, clients_with_ward_recorded from marts.service_summary",
    )
    # the sample's 74 in target wards less Notting Barns (line 2) and Golborne (line 3)
    assert (in_target, with_ward) == (72, 110)


def test_every_coded_field_lists_and_counts_a_label_in_no_code_list(coded_run):
    for file_name, columns in BAD_LABELS.items():
        for column, (line, label) in columns.items():
            listed = [issue for issue in issues(coded_run, file_name, column) if issue[0] == line]
            assert listed, f"{file_name} {column}: line {line} not listed"
            (_line, value, reason, outcome) = listed[0]
            assert (value, outcome) == (label, "value counted as Invalid"), (file_name, column)
            assert reason.startswith("not "), (file_name, column, reason)
    counts = dict(
        fetch(
            coded_run,
            "select measure_id, n from marts.measure_breakdown "
            "where category = 'Invalid' and n > 0",
        )
    )
    assert counts == INVALID_COUNTS


def test_no_bad_value_is_published_or_shown_as_a_category(coded_run):
    """No bad ward or label is in the published schema, the Parquet files, either report,
    or any category of the marts."""
    needles = ["w10 5xx", "w105xx", "flat 3", "sunnyvale", "bogus"]
    warehouse = coded_run["warehouse"]
    assert found_in_tables(warehouse, ["published"], needles) == []
    outputs = outputs_of(warehouse)
    assert (outputs / "report-published.html").exists()
    assert found_in_files(outputs / "parquet", needles) == []
    for report in ("report.html", "report-published.html"):
        text = (outputs / report).read_text(encoding="utf-8").lower()
        assert [needle for needle in needles if needle in text] == [], report
    categories = [
        category.lower()
        for (category,) in fetch(coded_run, "select distinct category from marts.measure_breakdown")
    ]
    assert [c for c in categories if any(needle in c for needle in needles)] == []


def test_a_ward_holding_digits_never_leaves_staging(coded_run):
    """Postcodes typed into the ward field are in no schema beyond raw and staging (audit,
    intermediate, history, marts, published, quality, reference) and in no output file."""
    needles = ["w10 5xx", "w105xx", "flat 3"]
    warehouse = coded_run["warehouse"]
    schemas = ["audit", "intermediate", "history", "marts", "published", "quality", "reference"]
    assert found_in_tables(warehouse, schemas, needles) == []
    assert found_in_files(outputs_of(warehouse), needles) == []


def test_a_target_ward_missing_from_the_ward_list_fails_the_build(coded_run, tmp_path):
    """The singular test that each target ward is on its service's ward list passes on the
    run's warehouse and fails (one row) once Golborne is taken off the list."""
    warehouse = tmp_path / "warehouse.duckdb"
    copy_warehouse(coded_run["warehouse"], warehouse)
    selection = ("test", "--select", "assert_target_wards_on_the_service_ward_list")

    result = run_dbt(warehouse, tmp_path, *selection)
    assert result.returncode == 0, result.stdout + result.stderr
    with connect(warehouse, read_only=False) as con:
        con.execute("delete from intermediate.int_service_wards_keyed where ward = 'Golborne'")
    result = run_dbt(warehouse, tmp_path, *selection)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL 1 assert_target_wards_on_the_service_ward_list" in result.stdout, result.stdout
