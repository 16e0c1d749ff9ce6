"""Shared fixtures: the real `dcrs` command, real DuckDB files, the bundled sample."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from dcrs.build import DATABASE_NAME, dbt_command
from dcrs.warehouse import private_store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_EXPORT = ROOT / "data" / "sample" / "kc-2010-08-31"
SHARED = Path(os.environ.get("DCRS_SHARED_DIR", ROOT.parent / "shared"))
DCRS = Path(sys.executable).with_name("dcrs")


PRIVATE_SCHEMAS = ("raw", "staging", "intermediate", "quality", "history", "audit")


def connect(warehouse: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """The warehouse with its private store attached (as the pipeline's data lead would
    open them: docs/private-store.md), so that a test names any table as
    ``schema.table`` whichever file holds it. The warehouse is attached as ``warehouse``,
    the name dbt built it under (a private view reads reference tables by that name)."""
    private = private_store(warehouse)
    if not private.exists():
        return duckdb.connect(str(warehouse), read_only=read_only)
    mode = " (read_only)" if read_only else ""
    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as warehouse{mode}")
    con.execute(f"attach '{private}' as private{mode}")
    con.execute("use warehouse")
    path = ["warehouse.main", "warehouse.history", "warehouse.audit"]
    path += [f"private.{schema}" for schema in PRIVATE_SCHEMAS]
    con.execute(f"set search_path = '{','.join(path)}'")
    return con


def copy_warehouse(source: Path, target: Path) -> Path:
    """Copy a warehouse and its private store (dbt needs both) to ``target``, a file name
    or a folder; returns the copied warehouse."""
    target = Path(target)
    if target.is_dir():
        target = target / Path(source).name
    shutil.copy(source, target)
    if private_store(Path(source)).exists():
        shutil.copy(private_store(Path(source)), private_store(target))
    return target


def outputs_of(warehouse: Path) -> Path:
    """The folder of a warehouse's published outputs: X/ beside X.duckdb."""
    return warehouse.with_suffix("")


def copy_project(target: Path) -> Path:
    """A copy of the dbt project and the code beside it, without generated state (target/,
    logs, warehouses, the environment): for runs pointed at it with DCRS_PROJECT_DIR."""
    shutil.copytree(
        ROOT,
        target,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "target",
            "logs",
            "warehouse",
            ".pytest_cache",
            ".ruff_cache",
            "__pycache__",
            "*.duckdb*",
            ".prefect",
            "bench",
        ),
    )
    return target


def run_dcrs(
    export: Path, warehouse: Path, project: Path | None = None, *options: str
) -> subprocess.CompletedProcess[str]:
    """Run `dcrs run` in a fresh process, as a user would; ``project``: a copy of the dbt
    project to run instead of the checkout's (DCRS_PROJECT_DIR); ``options``: more
    options of `dcrs run`."""
    env = {**os.environ}
    if project is not None:
        env["DCRS_PROJECT_DIR"] = str(project)
    return subprocess.run(
        [str(DCRS), "run", "--export", str(export), "--warehouse", str(warehouse), *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


def run_dbt(warehouse: Path, work: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """dbt against ``warehouse`` with its own target and log folders under ``work``."""
    return subprocess.run(
        dbt_command(
            *arguments,
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "DCRS_WAREHOUSE": str(warehouse),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        check=False,
    )


@pytest.fixture(scope="session")
def empty_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample export loaded and every model built empty (``dbt build --empty``): the
    relations dbt's unit tests need, in seconds (for the fast tier). The quality checks
    and what reads them are left out: they read rows, and have no unit tests."""
    from dcrs.pipeline import load

    folder = tmp_path_factory.mktemp("empty_build")
    load(SAMPLE_EXPORT, folder, folder / "no-warehouse.duckdb")
    warehouse = folder / DATABASE_NAME
    result = run_dbt(
        warehouse,
        folder,
        "build",
        "--empty",
        "--exclude-resource-type",
        "test",
        "--exclude-resource-type",
        "unit_test",
        "--exclude",
        "quality_checks_evaluated+",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return warehouse


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample export, run through the whole pipeline once per session."""
    warehouse = tmp_path_factory.mktemp("sample") / "dcrs.duckdb"
    result = run_dcrs(SAMPLE_EXPORT, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    # what the run printed, for tests of its output (sample_output)
    warehouse.with_name("run-output.txt").write_text(result.stdout)
    return warehouse


# The generated service of issue 18's "done when": one service, 13 monthly extracts.
MONITORING_CLIENTS = 1200
MONITORING_MONTHS = 13


@pytest.fixture(scope="session")
def monitoring_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated service (``dcrs generate``: 1,200 clients, 13 monthly cumulative exports,
    31 March 2010 to 31 March 2011) loaded extract by extract, oldest first, by ``dcrs
    rebuild`` (about 35 s an extract). The exports are kept in ``inbox/S001/<extract
    date>/`` beside the warehouse.

    Built once for the whole test session: under pytest-xdist every worker runs its own
    session fixtures, so the first worker to get here builds it in the folder the workers
    share, under a file lock, and the others wait and read it (read-only). (The
    xdist_group marks of its tests do not keep them on one worker with this pytest and
    pytest-xdist: docs/decisions.md.) A failed build is recorded, so that a worker
    arriving later fails at once with its message instead of building again."""
    import fcntl

    from dcrs.generate import generate

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder = shared / "monitoring"
    warehouse = folder / "dcrs.duckdb"
    built, failed = folder / "built", folder / "failed.txt"
    with (shared / "monitoring.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if failed.exists():
            pytest.fail(f"the monitoring warehouse failed to build:\n{failed.read_text()}")
        if not built.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            inbox = folder / "inbox"
            generate(inbox, clients=MONITORING_CLIENTS, months=MONITORING_MONTHS)
            try:
                rebuild(inbox, warehouse)
            except AssertionError as error:
                failed.write_text(str(error))
                raise
            built.touch()
    return warehouse


def rebuild(inbox: Path, warehouse: Path) -> Path:
    """Load every export of ``inbox`` into a new ``warehouse``, oldest first, with `dcrs
    rebuild` in a fresh process; the run must succeed."""
    result = subprocess.run(
        [str(DCRS), "rebuild", "--inbox", str(inbox), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return warehouse


@pytest.fixture(scope="session")
def sample_output(sample_warehouse: Path) -> str:
    """What `dcrs run` printed when it built the sample's warehouse."""
    return sample_warehouse.with_name("run-output.txt").read_text()


@pytest.fixture
def query(sample_warehouse: Path) -> Callable[..., list[tuple]]:
    def run_query(sql: str, parameters: list | None = None) -> list[tuple]:
        with connect(sample_warehouse) as con:
            return con.execute(sql, parameters or []).fetchall()

    return run_query


@pytest.fixture
def export_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample export, for tests that damage it."""
    target = tmp_path / "export"
    shutil.copytree(SAMPLE_EXPORT, target)
    return target
