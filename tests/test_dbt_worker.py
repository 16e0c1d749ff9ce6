"""The process `dcrs run` starts for dbt before the export is loaded (src/dcrs/dbt_worker.py):
it runs dbt only once it is told to, and a run that stops before its build leaves no dbt
behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import DCRS, SAMPLE_EXPORT, copy_project

from dcrs.dbt_worker import GO
from dcrs.pipeline import DBT_DATABASE


def worker(line: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # dbt's help: offline (--version asks PyPI for the latest release)
        [sys.executable, "-m", "dcrs.dbt_worker", "--help"],
        input=line,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dbt_runs_with_its_arguments_when_told_to():
    told = worker(GO + "\n")
    assert told.returncode == 0, told.stderr
    assert "Usage: dbt [OPTIONS]" in told.stdout, told.stdout


def test_without_the_line_dbt_does_not_run():
    for line in ("", "something else\n"):
        untold = worker(line)
        assert untold.returncode == 0, untold.stderr
        assert untold.stdout == "", untold.stdout


def test_a_dbt_command_run_by_hand_does_not_break_the_next_run(tmp_path):
    # dbt keeps the project folder it was given in its saved parse; `dcrs run` runs dbt
    # from another folder, so a saved parse made with `--project-dir .` pointed its seeds
    # at ./seeds/*.csv there, and every run after it failed until the parse was deleted
    project = copy_project(tmp_path / "project")
    by_hand = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "parse", "--project-dir", "."],
        capture_output=True,
        text=True,
        cwd=project,
        env={
            **os.environ,
            "DBT_PROFILES_DIR": str(project),
            "DCRS_WAREHOUSE": DBT_DATABASE,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        check=False,
    )
    assert by_hand.returncode == 0, by_hand.stdout + by_hand.stderr
    assert (project / "target" / "partial_parse.msgpack").exists()
    run = subprocess.run(
        [
            str(DCRS),
            "run",
            "--export",
            str(SAMPLE_EXPORT),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "DCRS_PROJECT_DIR": str(project)},
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
