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

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from dcrs import settings

DATABASE_NAME = "warehouse.duckdb"
# The build folder's outputs (published as the folder beside the warehouse, dcrs.release),
# and where in them the quality checks (models/quality) write Great Expectations' Data
# Docs, relative to the build folder.
OUTPUTS_DIR = "outputs"
DATA_DOCS_DIR = f"{OUTPUTS_DIR}/data_docs"
BUILD = ("build", "--exclude-resource-type", "unit_test")
# dbt's own log files are off: its whole output (what it prints, without colour codes) goes
# to the run's log file beside the warehouse (``X.duckdb.log``), one place with the
# tracebacks of failed runs (dcrs.failures).
QUIET_FILES = ("--no-write-json", "--log-level-file", "none", "--no-use-colors")
# What a failed build shows of dbt's output: its summary of the failures (from "Completed
# with ... error" on), else its last lines, at most this many; the lines of the failing
# nodes come first.
FAILURE_LINES_SHOWN = 40
FAILING_NODES_SHOWN = 10
# a node done: "12:00:01  12 of 450 OK created sql table model ..." (not "... START ...")
NODE_DONE = re.compile(r"\b(\d+) of (\d+) (?!START\b)[A-Z-]+\b")
NODE_FAILED = re.compile(r"\b\d+ of \d+ (ERROR|FAIL)\b")
SUMMARY_START = re.compile(r"Completed with \d+ errors?")


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


def open_log(path: Path) -> TextIO:
    """The run's log file, to append to, created readable by its owner only (dbt's
    messages can quote a value of a row: a conversion error names the value)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(descriptor, "a", encoding="utf-8")


def failure_excerpt(lines: list[str]) -> str:
    """The part of dbt's output that says what failed: the failing nodes' lines, then
    dbt's summary of the failures (or its last lines when it stopped before one)."""
    failing = [line for line in lines if NODE_FAILED.search(line)][:FAILING_NODES_SHOWN]
    starts = [number for number, line in enumerate(lines) if SUMMARY_START.search(line)]
    if starts:  # dbt's summary, from its start: the first failures are named first
        summary = [line for line in lines[starts[-1] :] if line.strip()]
        if len(summary) > FAILURE_LINES_SHOWN:  # keep the last line, dbt's counts
            summary = [*summary[: FAILURE_LINES_SHOWN - 2], "...", summary[-1]]
    else:
        summary = [line for line in lines if line.strip()][-FAILURE_LINES_SHOWN:]
    return "\n".join([*(line for line in failing if line not in summary), *summary])


def build(
    folder: Path,
    log: Path,
    output: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    project: Path | None = None,
) -> None:
    """``dbt build`` of the database ``folder / DATABASE_NAME``, which holds the export in
    ``raw``: raises BuildError when a model or a data test fails.

    dbt's whole output is appended to ``log``; ``output`` also gets each line as dbt
    prints it (``dcrs run --verbose``, the Prefect task's log), and ``progress`` the
    nodes done and the nodes in all after each one."""
    project = (project or settings.project_dir()).resolve()
    command = dbt_command(
        *BUILD, *QUIET_FILES, "--target-path", str(runs_target(project)), project=project
    )
    lines: list[str] = []
    with open_log(log) as handle:
        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        handle.write(f"--- {stamp} dbt build in {folder} ---\n")
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=dbt_environment(project),
            stdin=subprocess.DEVNULL,
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
                handle.write(text + "\n")
                lines.append(text)
                done = NODE_DONE.search(text)
                if done and progress is not None:
                    progress(int(done.group(1)), int(done.group(2)))
                if output is not None and text.strip() and " START " not in text:
                    output(text)
            code = process.wait()
        finally:
            if process.poll() is None:  # the run was stopped: stop dbt with it
                process.terminate()
                process.wait()
        handle.write(f"--- dbt exited with status {code} ---\n")
    if code != 0:
        raise BuildError(
            "dbt build failed: a model or a data test failed, or dbt could not run; "
            f"nothing was published. dbt's whole output is in {log}.\n" + failure_excerpt(lines)
        )
