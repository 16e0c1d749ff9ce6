"""One pipeline run: load an export, build and test every model, publish the warehouse.

A run builds into a new file beside the warehouse (``<warehouse>.building``) and replaces
the published warehouse with it, atomically, only when the load and every dbt model and
test have succeeded. A run that fails at any point removes its own file and leaves the
published warehouse exactly as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dcrs.load import LoadReport, load_export

PROJECT_DIR = Path(os.environ.get("DCRS_PROJECT_DIR", Path(__file__).resolve().parents[2]))
DEFAULT_EXPORT = PROJECT_DIR / "data" / "sample" / "kc-2010-08-31"
DEFAULT_WAREHOUSE = PROJECT_DIR / "warehouse" / "dcrs.duckdb"


class BuildError(Exception):
    """dbt could not build a model, or a data test failed: nothing was published."""


@dataclass
class FileSummary:
    file_name: str
    encoding: str
    rows_read: int
    rows_staged: int
    rows_rejected: int
    extra_columns: list[str]


@dataclass
class RunSummary:
    warehouse: Path
    service_code: str
    extract_date: str
    files: list[FileSummary]
    values_invalid: int
    measures_built: int
    mart_rows: int
    seconds: float

    @property
    def rows_read(self) -> int:
        return sum(item.rows_read for item in self.files)

    @property
    def rows_staged(self) -> int:
        return sum(item.rows_staged for item in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(item.rows_rejected for item in self.files)


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


def dbt_command(*arguments: str) -> list[str]:
    """The dbt executable of this environment with the project's directories."""
    dbt = Path(sys.executable).with_name("dbt")
    return [
        str(dbt),
        *arguments,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
    ]


def build_models(database: Path, echo: Callable[[str], None]) -> None:
    """Run ``dbt build`` (seeds, models and every data test) against ``database``."""
    env = {
        **os.environ,
        "DCRS_WAREHOUSE": str(database),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    process = subprocess.Popen(
        # unit tests check the SQL, not the export: they run with the test suite
        dbt_command("build", "--exclude-resource-type", "unit_test"),
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    failures: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        text = line.rstrip()
        if " START " in text or not text.strip():
            continue
        if any(word in text for word in ("ERROR", "FAIL", "Failure", "Error")):
            failures.append(text)
        echo(text)
    if process.wait() != 0:
        detail = "\n".join(failures[-20:]) or "see logs/dbt.log"
        raise BuildError(f"dbt build failed; nothing was published.\n{detail}")


def summarise(database: Path, seconds: float) -> RunSummary:
    with duckdb.connect(str(database), read_only=True) as con:
        service_code, extract_date = con.execute(
            "select service_code, extract_date::varchar from staging.stg_dcrs__manifests"
        ).fetchone()
        files = [
            FileSummary(*row)
            for row in con.execute(
                """
                select file_name, encoding, rows_read, rows_staged, rows_rejected, extra_columns
                from audit.load_reconciliation
                order by file_name
                """
            ).fetchall()
        ]
        values_invalid = con.execute(
            "select count(*) from audit.load_issues where outcome = 'value counted as Invalid'"
        ).fetchone()[0]
        measures_built, mart_rows = con.execute(
            "select count(distinct measure_id), count(*) from marts.measure_breakdown"
        ).fetchone()
    return RunSummary(
        warehouse=database,
        service_code=service_code,
        extract_date=extract_date,
        files=files,
        values_invalid=values_invalid,
        measures_built=measures_built,
        mart_rows=mart_rows,
        seconds=seconds,
    )


def run(
    export_dir: Path = DEFAULT_EXPORT,
    warehouse: Path = DEFAULT_WAREHOUSE,
    echo: Callable[[str], None] = print,
) -> RunSummary:
    """Load ``export_dir``, build every model and test, and publish ``warehouse``."""
    started = time.perf_counter()
    warehouse = warehouse.resolve()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    building = warehouse.with_name(warehouse.name + ".building")
    _remove(building)
    try:
        echo(f"Loading export {export_dir}")
        with duckdb.connect(str(building)) as con:
            report: LoadReport = load_export(con, export_dir)
        for loaded in report.files:
            extra = (
                f"; extra columns ignored: {', '.join(loaded.extra_columns)}"
                if (loaded.extra_columns)
                else ""
            )
            echo(f"  {loaded.file_name}: {loaded.rows_read} rows, {loaded.encoding}{extra}")
        echo("Building and testing models (dbt build)")
        build_models(building, echo)
        summary = summarise(building, time.perf_counter() - started)
        os.replace(building, warehouse)
        _remove(building)
    except BaseException:
        _remove(building)
        raise
    summary.warehouse = warehouse
    summary.seconds = time.perf_counter() - started
    return summary
