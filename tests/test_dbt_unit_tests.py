"""dbt's unit tests (the logic of the banding, rounding, triage and breakdown models).

`dcrs run` builds models and runs every data test on each export; unit tests check the
SQL itself, so they run here, against a copy of the sample warehouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import duckdb
from conftest import ROOT

from dcrs.pipeline import dbt_command


def test_dbt_unit_tests_pass(sample_warehouse, tmp_path):
    warehouse = tmp_path / "unit.duckdb"
    shutil.copy(sample_warehouse, warehouse)
    result = subprocess.run(
        dbt_command(
            "test",
            "--select",
            "test_type:unit",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "DCRS_WAREHOUSE": str(warehouse)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR=0" in result.stdout
    passed = int(result.stdout.split("PASS=")[1].split()[0])
    assert passed >= 12, result.stdout


def test_not_null_columns_fails_for_each_column_with_nulls(sample_warehouse, tmp_path):
    """The generic test that replaced one not_null test per column can fail: with nulls
    put into two of the key columns of a built model, it returns one row per column
    (FAIL 2); the same test on the untouched sample passes."""
    warehouse = tmp_path / "nulls.duckdb"
    shutil.copy(sample_warehouse, warehouse)

    def run_test() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            dbt_command(
                "test",
                "--select",
                "int_clients_validated,test_name:not_null_columns",
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
            ),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "DCRS_WAREHOUSE": str(warehouse)},
        )

    clean = run_test()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "PASS=1 " in clean.stdout, clean.stdout
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update intermediate.int_clients_validated set client_id = null, "
            "extract_date = null where source_line = (select min(source_line) "
            "from intermediate.int_clients_validated)"
        )
    broken = run_test()
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "FAIL 2 not_null_columns_int_clients_validated" in broken.stdout, broken.stdout


def test_overlapping_bands_fail_the_build(sample_warehouse, tmp_path):
    """int_measure_members_categorised is not tested for one row per measure and unit (24
    rows per client at scale); it relies on its parts being unique and on no two bands of
    a measure overlapping. That last check can fail: widen one age band into the next and
    the singular test names the pair (FAIL 1); on the untouched seed it passes."""
    warehouse = tmp_path / "bands.duckdb"
    shutil.copy(sample_warehouse, warehouse)

    def run_test() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            dbt_command(
                "test",
                "--select",
                "assert_measure_categories_bands_do_not_overlap",
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
            ),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "DCRS_WAREHOUSE": str(warehouse)},
        )

    clean = run_test()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "PASS=1 " in clean.stdout, clean.stdout
    with duckdb.connect(str(warehouse)) as con:
        widened = con.execute(
            "update reference.measure_categories set band_upper = band_upper + 1 "
            "where measure_id = 'age_band' and category = '18 - 25'"
        ).fetchone()[0]
    assert widened == 1
    broken = run_test()
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "FAIL 1 assert_measure_categories_bands_do_not_overlap" in broken.stdout, broken.stdout


def test_population_counts_fail_on_a_duplicated_unit(sample_warehouse, tmp_path):
    """The two long tables (one row per measure or data-capture field and unit) are checked
    by counting rows per measure or field against the population's size, not by a
    uniqueness test. Those counts catch a duplicate: one client repeated in
    int_clients_categorised shows in each of the 13 measures of every client (FAIL 13), a
    repeated row of int_capture_fields_unpivoted in its field (FAIL 1)."""
    warehouse = tmp_path / "duplicate.duckdb"
    shutil.copy(sample_warehouse, warehouse)

    def run_tests() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            dbt_command(
                "test",
                "--select",
                "assert_int_measure_members_categorised_one_row_per_unit "
                "assert_int_capture_fields_unpivoted_one_row_per_unit",
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
            ),
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "DCRS_WAREHOUSE": str(warehouse)},
        )

    clean = run_tests()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "PASS=2 " in clean.stdout, clean.stdout
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into intermediate.int_clients_categorised select * from "
            "intermediate.int_clients_categorised where eligibility <> 'Eligible' limit 1"
        )
        con.execute(
            "insert into intermediate.int_capture_fields_unpivoted select * from "
            "intermediate.int_capture_fields_unpivoted where field = 'gender' limit 1"
        )
    broken = run_tests()
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "FAIL 13 assert_int_measure_members_categorised_one_row_per_unit" in broken.stdout
    assert "FAIL 1 assert_int_capture_fields_unpivoted_one_row_per_unit" in broken.stdout
