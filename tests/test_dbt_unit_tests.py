"""dbt's unit tests (the logic of the banding, rounding, triage and breakdown models).

`dcrs run` builds models and runs every data test on each export; unit tests check the
SQL itself, so they run here, against a copy of the sample warehouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess

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
