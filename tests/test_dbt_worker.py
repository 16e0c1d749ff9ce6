"""The process `dcrs run` starts for dbt before the export is loaded (src/dcrs/dbt_worker.py):
it runs dbt only once it is told to, and a run that stops before its build leaves no dbt
behind."""

from __future__ import annotations

import subprocess
import sys

from dcrs.dbt_worker import GO


def worker(line: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dcrs.dbt_worker", "--version"],
        input=line,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dbt_runs_with_its_arguments_when_told_to():
    told = worker(GO + "\n")
    assert told.returncode == 0, told.stderr
    assert "dbt" in told.stdout.lower() and "1.11" in told.stdout


def test_without_the_line_dbt_does_not_run():
    for line in ("", "something else\n"):
        untold = worker(line)
        assert untold.returncode == 0, untold.stderr
        assert untold.stdout == "", untold.stdout
