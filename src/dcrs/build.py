"""``dbt build`` as a run calls it: one dbt process builds the seeds and models and runs
every data test, in dependency order, so that a failing test skips what depends on it.

dbt opens the database by a relative name, ``DATABASE_NAME``, from the run's build folder
(its working directory). Its saved parse of the project then serves every run, whatever
the warehouse: dbt parses the whole project again (seconds) when a setting of the profile
changes, the database's path included. Runs keep that parse in their own target folder
(``runs_target``), apart from ``target/`` of dbt run by hand, whose parse records other
folders.

dbt's unit tests check the SQL, not the export: they run with the test suite
(``make test-fast``), never in a production run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from dcrs import settings

DATABASE_NAME = "warehouse.duckdb"
# The build folder's outputs (published as the folder beside the warehouse, dcrs.release),
# and where in them the quality checks (models/quality) write Great Expectations' Data
# Docs, relative to the build folder.
OUTPUTS_DIR = "outputs"
DATA_DOCS_DIR = f"{OUTPUTS_DIR}/data_docs"
BUILD = ("build", "--exclude-resource-type", "unit_test")
# dbt's debug log of every query costs about a second on the sample; the log file keeps
# warnings and errors, and progress comes through standard output.
QUIET_FILES = ("--no-write-json", "--log-level-file", "warn")
FAILURE_LINES_KEPT = 20


class BuildError(Exception):
    """dbt could not build a model, or a data test failed: nothing was published."""


def runs_target(project: Path) -> Path:
    """The folder of the runs' saved parse of a dbt project."""
    return project / "target" / "dcrs-run"


def dbt_command(*arguments: str, project: Path | None = None) -> list[str]:
    """dbt of this environment, with the project's folders (also its profiles.yml)."""
    folder = str((project or settings.project_dir()).resolve())
    return [
        sys.executable,
        "-c",
        "import sys; from dbt.cli.main import cli; sys.exit(cli())",
        *arguments,
        "--project-dir",
        folder,
        "--profiles-dir",
        folder,
    ]


def dbt_environment(project: Path) -> dict[str, str]:
    """The environment dbt runs with: the same profile for every run (so that its saved
    parse serves them all), the project (whose expectations/ the quality checks read) and
    the memory limit."""
    return {
        **os.environ,
        settings.PROJECT_DIR_VARIABLE: str(project),
        "DCRS_WAREHOUSE": DATABASE_NAME,  # relative to the build folder
        "DCRS_DATA_DOCS_DIR": DATA_DOCS_DIR,
        settings.MEMORY_LIMIT_VARIABLE: settings.memory_limit(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def parse_project(project: Path | None = None) -> None:
    """Parse the project into the runs' saved parse, as a run would, so that the first
    run after a change to the project does not parse it (``make setup`` calls this)."""
    project = (project or settings.project_dir()).resolve()
    subprocess.run(
        dbt_command(
            "parse", "--quiet", "--target-path", str(runs_target(project)), project=project
        ),
        env=dbt_environment(project),
        cwd=project,
        check=True,
    )


def build(folder: Path, echo: Callable[[str], None], project: Path | None = None) -> None:
    """``dbt build`` of the database ``folder / DATABASE_NAME``, which holds the export in
    ``raw``: raises BuildError when a model or a data test fails."""
    project = (project or settings.project_dir()).resolve()
    command = dbt_command(
        *BUILD, *QUIET_FILES, "--target-path", str(runs_target(project)), project=project
    )
    failures: list[str] = []
    process = subprocess.Popen(
        command,
        cwd=folder,
        env=dbt_environment(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            text = line.rstrip()
            if not text.strip() or " START " in text:
                continue
            if "error" in text.lower() or "fail" in text.lower():
                failures.append(text)
            echo(text)
        code = process.wait()
    finally:
        if process.poll() is None:  # the run was stopped: stop dbt with it
            process.terminate()
            process.wait()
    if code != 0:
        detail = "\n".join(failures[-FAILURE_LINES_KEPT:]) or "see logs/dbt.log"
        raise BuildError(
            f"dbt build failed: a model or a data test failed, or dbt could not run; "
            f"nothing was published.\n{detail}"
        )
