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
