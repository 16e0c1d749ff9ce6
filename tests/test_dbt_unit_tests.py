"""dbt's unit tests (the logic of the banding, rounding, triage and breakdown models), and
proof that the data tests standing in for per-row checks can fail.

`dcrs run` builds models and runs every data test on each export; unit tests check the
SQL itself, so they run here (in the fast tier), against the models built empty.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import connect, copy_warehouse, run_dbt


def copy_of(sample_warehouse: Path, tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    warehouse = tmp_path / "warehouse.duckdb"
    copy_warehouse(sample_warehouse, warehouse)
    return warehouse


def assert_passes(warehouse: Path, work: Path, selection: tuple[str, ...], tests: int) -> None:
    """The selected data tests all pass on ``warehouse``."""
    result = run_dbt(warehouse, work, *selection)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PASS={tests} " in result.stdout, result.stdout


def assert_fails(warehouse: Path, work: Path, selection: tuple[str, ...], *failures: str) -> None:
    """The selected data tests fail on ``warehouse``, with each of ``failures`` (dbt's
    "FAIL <rows> <test>") in the output."""
    result = run_dbt(warehouse, work, *selection)
    assert result.returncode == 1, result.stdout + result.stderr
    for failure in failures:
        assert failure in result.stdout, result.stdout


@pytest.mark.fast
def test_dbt_unit_tests_pass(empty_build, tmp_path):
    result = run_dbt(empty_build, tmp_path, "test", "--select", "test_type:unit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR=0" in result.stdout
    passed = int(result.stdout.split("PASS=")[1].split()[0])
    assert passed >= 12, result.stdout


def test_not_null_columns_fails_for_each_column_with_nulls(sample_warehouse, tmp_path):
    """The generic test that replaced one not_null test per column can fail: with nulls
    put into two of the key columns of a built model, it returns one row per column
    (FAIL 2); the same test on the untouched sample passes."""
    warehouse = copy_of(sample_warehouse, tmp_path)
    selection = ("test", "--select", "int_clients_validated,test_name:not_null_columns")

    assert_passes(warehouse, tmp_path, selection, 1)
    with connect(warehouse, read_only=False) as con:
        con.execute(
            "update intermediate.int_clients_validated set client_id = null, "
            "extract_date = null where source_line = (select min(source_line) "
            "from intermediate.int_clients_validated)"
        )
    assert_fails(warehouse, tmp_path, selection, "FAIL 2 not_null_columns_int_clients_validated")


def test_unique_combination_fails_for_each_duplicated_key(sample_warehouse, tmp_path):
    """The generic key test compares keys by hash first, then groups only the rows whose
    hash repeats: it still fails on a duplicated key. One client's row written again gives
    one failing key (FAIL 1) held by two rows; the untouched sample passes."""
    warehouse = copy_of(sample_warehouse, tmp_path)
    selection = ("test", "--select", "int_clients_categorised,test_name:unique_combination")

    assert_passes(warehouse, tmp_path, selection, 1)
    with connect(warehouse, read_only=False) as con:
        client = con.execute(
            "select client_id from intermediate.int_clients_categorised order by client_id limit 1"
        ).fetchone()[0]
        con.execute(
            "insert into intermediate.int_clients_categorised select * from "
            "intermediate.int_clients_categorised where client_id = ?",
            [client],
        )
    assert_fails(
        warehouse, tmp_path, selection, "FAIL 1 unique_combination_int_clients_categorised"
    )
    # the failing key and its rows, from the test's own SQL as dbt compiled it
    (compiled,) = (tmp_path / "target" / "compiled").rglob(
        "unique_combination_int_clients_*.sql"  # dbt shortens long test names
    )
    with connect(warehouse) as con:
        failing = con.execute(
            f"select client_id, rows_for_key from ({compiled.read_text()})"
        ).fetchall()
    assert failing == [(client, 2)]


def test_overlapping_bands_fail_the_build(sample_warehouse, tmp_path):
    """A band that overlapped another would put a unit into two categories of a measure.
    The seed test finds it before any data does: widen one age band into the next and it
    names the pair (FAIL 1); on the untouched seed it passes."""
    warehouse = copy_of(sample_warehouse, tmp_path)
    selection = ("test", "--select", "assert_measure_categories_bands_do_not_overlap")

    assert_passes(warehouse, tmp_path, selection, 1)
    with connect(warehouse, read_only=False) as con:
        widened = con.execute(
            "update reference.measure_categories set band_upper = band_upper + 1 "
            "where measure_id = 'age_band' and category = '18 - 25'"
        ).fetchone()[0]
    assert widened == 1
    assert_fails(
        warehouse, tmp_path, selection, "FAIL 1 assert_measure_categories_bands_do_not_overlap"
    )


def test_population_counts_fail_on_a_duplicated_or_miscounted_unit(sample_warehouse, tmp_path):
    """The two long tables (one row per measure or data-capture field and unit) are checked
    by counting rows per measure or field against the population's size, not by a
    uniqueness test, and the breakdown's counts against the same sizes. Those counts catch
    a duplicate: one client repeated in int_clients_categorised shows in each of the 13
    measures of every client (FAIL 13), a repeated row of int_capture_fields_unpivoted in
    its field (FAIL 1); and a count of measure_breakdown one off shows in its measure."""
    warehouse = copy_of(sample_warehouse, tmp_path)
    selection = (
        "test",
        "--select",
        "assert_measure_members_and_breakdown_count_each_unit_once "
        "assert_int_capture_fields_unpivoted_one_row_per_unit",
    )

    assert_passes(warehouse, tmp_path, selection, 2)
    with connect(warehouse, read_only=False) as con:
        con.execute(
            "insert into intermediate.int_clients_categorised select * from "
            "intermediate.int_clients_categorised where eligibility <> 'Eligible' limit 1"
        )
        con.execute(
            "insert into intermediate.int_capture_fields_unpivoted select * from "
            "intermediate.int_capture_fields_unpivoted where field = 'gender' limit 1"
        )
    assert_fails(
        warehouse,
        tmp_path,
        selection,
        "FAIL 13 assert_measure_members_and_breakdown_count_each_unit_once",
        "FAIL 1 assert_int_capture_fields_unpivoted_one_row_per_unit",
    )

    miscounted = copy_of(sample_warehouse, tmp_path / "miscounted")
    with connect(miscounted, read_only=False) as con:
        con.execute(
            "update marts.measure_breakdown set n = n + 1 "
            "where measure_id = 'goal_outcome' and category = 'No outcome yet'"
        )
    assert_fails(
        miscounted,
        tmp_path / "miscounted",
        selection,
        "FAIL 1 assert_measure_members_and_breakdown_count_each_unit_once",
    )
