"""One pipeline run: load an export, build and test every model, check data quality,
publish the warehouse, alert the service manager.

A run builds into a new file beside the warehouse (``<warehouse>.building``), a copy of
the published warehouse with every extract loaded so far, adds the partition of the export
it loads, and replaces the published warehouse with it, atomically, only when the load,
every dbt model and data test, and the quality checks have run. A run that fails at any
point removes its own file and leaves the published warehouse exactly as it was.

Each step is a plain function; ``run`` calls them through a step runner, so that the CLI
(``dcrs run``) and the Prefect flow (``flows/monthly_dcrs.py``) run the same code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb

from dcrs import dbt_worker
from dcrs.export_contract import MANIFEST_FILE
from dcrs.load import ExportError, LoadReport, load_export, read_manifest

PROJECT_DIR = Path(os.environ.get("DCRS_PROJECT_DIR", Path(__file__).resolve().parents[2]))
DEFAULT_EXPORT = PROJECT_DIR / "data" / "sample" / "kc-2010-08-31"
# Where exports arrive, one folder each (any services and months): the bundled sample.
DEFAULT_INBOX = PROJECT_DIR / "data" / "sample"
DEFAULT_WAREHOUSE = PROJECT_DIR / "warehouse" / "dcrs.duckdb"


T = TypeVar("T")


class BuildError(Exception):
    """dbt could not build a model, or a data test failed: nothing was published."""


class RunInProgress(Exception):
    """Another run holds the warehouse's lock."""


class AlertNotDelivered(Exception):
    """The warehouse was published, but the alert email could not be delivered."""


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
    run_id: str
    warehouse: Path
    service_code: str
    service_name: str
    extract_date: str
    export_dir: Path
    files: list[FileSummary]
    values_invalid: int
    measures_built: int
    mart_rows: int
    headline: dict[str, Any]
    quality: list[Any] = field(default_factory=list)
    previous_capture: dict[str, float] = field(default_factory=dict)
    data_docs: Path | None = None
    alert: str = ""
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(item.rows_read for item in self.files)

    @property
    def rows_staged(self) -> int:
        return sum(item.rows_staged for item in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(item.rows_rejected for item in self.files)

    @property
    def failed_checks(self) -> list[Any]:
        return [result for result in self.quality if not result.passed]


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)
    shutil.rmtree(_dbt_dir(path), ignore_errors=True)
    outputs = _outputs_dir(path)
    if outputs.exists():
        shutil.rmtree(outputs)


def _outputs_dir(database: Path) -> Path:
    """Files a run writes beside the database it builds, published with it."""
    return database.with_name(database.name + ".outputs")


# What a run publishes beside the warehouse, in the warehouse's folder.
DATA_DOCS = "data_docs"
PARQUET = "parquet"
REPORT = "report.html"
PUBLISHED_REPORT = "report-published.html"


def published_docs_dir(warehouse: Path) -> Path:
    """Where the Data Docs of the published warehouse live."""
    return warehouse.with_name(DATA_DOCS)


def dbt_arguments(*arguments: str, project: Path = PROJECT_DIR) -> list[str]:
    """dbt's arguments with the project's directories."""
    folder = str(project.resolve())  # dbt runs in another folder (DbtBuild)
    return [*arguments, "--project-dir", folder, "--profiles-dir", folder]


def dbt_command(*arguments: str) -> list[str]:
    """The dbt executable of this environment with the project's directories."""
    return [str(Path(sys.executable).with_name("dbt")), *dbt_arguments(*arguments)]


# The warehouse file is written in DuckDB 1.5's storage format, which DuckDB 2.0 reads and
# writes too: BI tools and the DuckDB CLI still on 1.5 can then open it.
STORAGE_VERSION = "v1.5.0"

# DuckDB's memory for the load and the dbt build (dbt reads the same variable in
# profiles.yml); beyond it DuckDB spills to temporary files. Its default, 80% of the
# machine's memory, let a build at a million clients take 4 GB. dbt's two threads share
# the limit, and not every operator spills: at 500MB (and at 1GB) runs with months of
# history at 540k-770k clients ran out of memory in the past, in history.record_versions
# and in uniqueness tests over one row per measure and client that are now gone. At 700MB
# a year of monthly exports up to a million clients loaded without a failure, the whole
# process tree peaking at 1,036 MB (bench/run.py); 600MB keeps it under 1 GB.
DUCKDB_MEMORY_LIMIT = os.environ.get("DCRS_DUCKDB_MEMORY_LIMIT", "600MB")


def load(export_dir: Path, database: Path, warehouse: Path) -> LoadReport:
    """Start the new database file from a copy of the published warehouse (every extract
    loaded so far) and load the export into its raw schema.

    Extracts of a service load in date order, so that each record's versions follow each
    other: an export older than the latest one loaded for its service is refused (the
    latest one itself may be loaded again, which changes nothing)."""
    manifest = read_manifest(export_dir)
    latest = max(
        (date for service, date in loaded_extracts(warehouse) if service == manifest.service_code),
        default=None,
    )
    if latest is not None and manifest.extract_date < latest:
        raise ExportError(
            export_dir / MANIFEST_FILE,
            f"extract_date {manifest.extract_date} is older than {latest}, the latest "
            f"extract of service {manifest.service_code} already in the warehouse; "
            "extracts load in date order (build a new warehouse to load older ones)",
        )
    if warehouse.exists():
        shutil.copyfile(warehouse, database)
    with duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT}) as con:
        con.execute(
            f"attach {_sql_text(str(database))} as warehouse (storage_version '{STORAGE_VERSION}')"
        )
        con.execute("use warehouse")
        return load_export(con, export_dir)


def loaded_extracts(warehouse: Path) -> set[tuple[str, dt.date]]:
    """The (service_code, extract_date) of every extract in the published warehouse."""
    if not warehouse.exists():
        return set()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        has_history = con.execute(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'history' and table_name = 'loaded_extracts'"
        ).fetchone()[0]
        if not has_history:
            return set()
        return set(
            con.execute("select service_code, extract_date from history.loaded_extracts").fetchall()
        )


@dataclass
class Inbox:
    """The export folders found in an inbox, sorted into what a run does with them."""

    to_load: list[Path]
    already_loaded: list[Path]


def scan_inbox(inbox: Path, warehouse: Path) -> Inbox:
    """Find every export folder (one holding manifest.json) under ``inbox`` and list those
    not yet in the warehouse, oldest extract first (a service's extracts load in date
    order). An export whose manifest cannot be read is listed to load, last, so that its
    run fails with the manifest's problem and the service manager hears of it."""
    inbox = inbox.resolve()
    if not inbox.is_dir():
        raise ExportError(inbox, "the inbox folder does not exist")
    loaded = loaded_extracts(warehouse)
    readable: list[tuple[dt.date, str, Path]] = []
    unreadable: list[Path] = []
    already: list[Path] = []
    for manifest_path in sorted(inbox.rglob(MANIFEST_FILE)):
        folder = manifest_path.parent
        try:
            manifest = read_manifest(folder)
        except ExportError:
            unreadable.append(folder)
            continue
        if (manifest.service_code, manifest.extract_date) in loaded:
            already.append(folder)
        else:
            readable.append((manifest.extract_date, manifest.service_code, folder))
    return Inbox(
        to_load=[folder for _, _, folder in sorted(readable)] + unreadable,
        already_loaded=already,
    )


# dbt parses the whole project again (seconds) whenever the profile's connection settings
# change, the database path included. So dbt always opens the same relative path: a hard
# link, in a folder of its own beside the file being built, named DBT_DATABASE. dbt's
# saved parse (runs_target(): target/dcrs-run/partial_parse.msgpack) then serves every run,
# whatever the warehouse.
DBT_DATABASE = "dcrs.duckdb"


# dbt keeps the project folder it was given in its saved parse, and a run starts dbt from
# another folder (the database's): a parse saved by dbt run by hand with
# `--project-dir .` pointed every seed at ./seeds/*.csv there and failed every run after
# it. So runs keep their own saved parse, apart from target/ (parse_project, which
# `make setup` calls, parses into the same folder).
def runs_target(project: Path = PROJECT_DIR) -> Path:
    """The folder of the runs' saved parse of a dbt project."""
    return project.resolve() / "target" / "dcrs-run"


def dbt_environment() -> dict[str, str]:
    """The environment dbt runs with: the same profile settings for every run (so its
    saved parse serves them all) and the memory limit."""
    return {
        **os.environ,
        "DCRS_WAREHOUSE": DBT_DATABASE,  # relative to dbt's folder
        "DCRS_DUCKDB_MEMORY_LIMIT": DUCKDB_MEMORY_LIMIT,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def parse_project() -> None:
    """Parse the dbt project into the runs' saved parse, as a run would, so that the first
    run after a change to the project does not parse it (`make setup` calls this)."""
    subprocess.run(
        dbt_command("parse", "--quiet", "--target-path", str(runs_target())),
        env=dbt_environment(),
        check=True,
    )


def _dbt_dir(database: Path) -> Path:
    return database.with_name(database.name + ".dbt")


class DbtBuild:
    """dbt against a database, in a process started before the database is ready
    (src/dcrs/dbt_worker.py): it imports dbt and loads the project while the export loads.
    ``build_models`` builds the seeds and models; the process then runs every data test,
    read-only, while the caller may read the database too; ``test_models`` waits for the
    tests. A run that stops before its tests end calls ``stop``. ``project`` is the dbt
    project's folder (tests give a copy)."""

    def __init__(self, database: Path, project: Path = PROJECT_DIR) -> None:
        self.database = database
        self.workdir = _dbt_dir(database)
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir()
        arguments = dbt_arguments(
            # nothing reads manifest.json or run_results.json after a run (the saved parse,
            # partial_parse.msgpack, is still written), and dbt's debug log of every query
            # cost about a second of CPU per run on the sample: the log file keeps warnings
            # and errors, the progress lines come through stdout as before
            "--no-write-json",
            "--log-level-file",
            "warn",
            "--target-path",
            str(runs_target(project)),
            project=project,
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", dbt_worker.__name__, *arguments],
            cwd=self.workdir,
            env=dbt_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._failures: list[str] = []
        self._test_lines: list[str] = []
        self._reader: threading.Thread | None = None

    def build_models(self, echo: Callable[[str], None], test_processes: int = 1) -> None:
        """Build the seeds and models: raises BuildError when dbt cannot build one. On
        return the database is closed, and the data tests run in dbt's process (and in
        ``test_processes`` - 1 forks of it)."""
        os.link(self.database, self.workdir / DBT_DATABASE)
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(BrokenPipeError):  # it ended already: its output says why
            process.stdin.write(f"{dbt_worker.GO} {test_processes}\n")
            process.stdin.close()
        for line in process.stdout:
            if line.rstrip() == dbt_worker.MODELS_BUILT:
                break
            self._relay(line, echo)
        else:
            self.process.wait()
            raise BuildError(self._failure("dbt could not build the models"))
        # the tests' lines are kept until test_models: the pipe must not fill meanwhile
        self._reader = threading.Thread(target=self._keep_test_output, name="dbt test output")
        self._reader.start()

    def _keep_test_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._relay(line, self._test_lines.append)

    def test_models(self, echo: Callable[[str], None]) -> None:
        """Wait for the data tests: raises BuildError when one failed or could not run."""
        try:
            if self._reader is None:
                raise BuildError("dbt's data tests never started: the models were not built")
            self._reader.join()
            for line in self._test_lines:
                echo(line)
            if self.process.wait() != 0:
                raise BuildError(self._failure("a data test failed, or the tests could not run"))
            database = self.workdir / DBT_DATABASE
            if database.with_name(DBT_DATABASE + ".wal").exists():
                duckdb.connect(str(database)).close()  # DuckDB writes its log into the file
        finally:
            self.stop()

    def _relay(self, line: str, echo: Callable[[str], None]) -> None:
        text = line.rstrip()
        if " START " in text or not text.strip():
            return
        if "error" in text.lower() or "fail" in text.lower():
            self._failures.append(text)
        echo(text)

    def _failure(self, what: str) -> str:
        detail = "\n".join(self._failures[-20:]) or "see logs/dbt.log (warnings and errors)"
        return f"{what}; nothing was published.\n{detail}"

    def stop(self) -> None:
        """End the process (a build not started never starts; the forks running part of
        the tests end with it) and remove its folder."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self._reader is not None:
            self._reader.join()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def build_models(dbt: DbtBuild, echo: Callable[[str], None], test_processes: int = 1) -> None:
    """Build the seeds and models (``dbt build`` without the data tests) into the database
    being built; dbt then runs the data tests, read-only, in ``test_processes``."""
    dbt.build_models(echo, test_processes)


def test_models(dbt: DbtBuild, echo: Callable[[str], None]) -> None:
    """Wait for every dbt data test to pass (raises BuildError when one failed)."""
    dbt.test_models(echo)


# On a small export, GX is imported while dbt builds the models, and its checks run while
# dbt runs the data tests: that saves seconds on the bundled sample. On a large one GX's
# memory (a few hundred MB) would add to dbt's, so GX starts after the last data test: at
# 1M clients (5.5M rows) side by side, the process tree peaked at 1,410 MB against 928 MB
# one after the other; at 100k clients (550k rows), 939 MB against 754 MB. A machine with
# more memory can raise the limit (rows in the export, all files).
QUALITY_CHECKS_BESIDE_DBT_BELOW_ROWS = int(
    os.environ.get("DCRS_QUALITY_CHECKS_BESIDE_DBT_BELOW_ROWS", "100000")
)

# On a small export nearly all of each data test's time is dbt's own Python, which holds
# the GIL: dbt's two threads share one core. Below this many rows the tests run in two
# processes (dbt's and a fork of it, src/dcrs/dbt_worker.py), which use both. On a large
# export DuckDB's work, on both cores already, dominates, and a second process would add
# its memory.
DBT_TESTS_IN_TWO_PROCESSES_BELOW_ROWS = int(
    os.environ.get("DCRS_DBT_TESTS_IN_TWO_PROCESSES_BELOW_ROWS", "100000")
)


def import_quality_checks_in_background() -> threading.Thread:
    """Import Great Expectations (seconds of CPU) in a thread, while dbt, another process,
    builds; check_quality then finds it imported."""

    def import_gx() -> None:
        with contextlib.suppress(Exception):  # check_quality imports it again and reports
            from dcrs.quality import import_great_expectations

            import_great_expectations()

    thread = threading.Thread(target=import_gx, name="import great_expectations")
    thread.start()
    return thread


def check_quality(database: Path) -> list[Any]:
    """Run the Great Expectations suites on the built database; Data Docs beside it."""
    from dcrs.quality import run_quality_checks  # GX costs seconds to import

    return run_quality_checks(database, _outputs_dir(database) / DATA_DOCS)


# marts.data_quality_results: the results at each service and extract (a reload replaces
# them); audit.data_quality_runs: every run's results, with its run id and time.
QUALITY_RESULTS_COLUMNS = """
        service_code varchar,
        extract_date date,
        suite varchar,
        check_id varchar,
        field varchar,
        description varchar,
        population varchar,
        recorded integer,
        total integer,
        observed_value double,
        threshold double,
        passed boolean
"""
QUALITY_RESULTS_DDL = f"""
    create table if not exists marts.data_quality_results ({QUALITY_RESULTS_COLUMNS});
    create table if not exists audit.data_quality_runs (
        run_id varchar, run_at timestamp, {QUALITY_RESULTS_COLUMNS}
    );
"""


def record_quality(database: Path, run_id: str, results: list[Any]) -> dict[str, float]:
    """Keep this run's check results: in marts.data_quality_results for its service and
    extract (replacing a reload's), and in audit.data_quality_runs with every earlier run.

    Returns the data-capture percent of each field at the latest earlier extract.
    """
    with duckdb.connect(str(database)) as con:
        con.execute(QUALITY_RESULTS_DDL)
        service_code, extract_date = con.execute(
            "select service_code, extract_date from staging.stg_dcrs__manifests"
        ).fetchone()
        rows = [
            [
                service_code,
                extract_date,
                result.suite,
                result.check,
                result.field,
                result.description,
                result.population,
                result.recorded,
                result.total,
                result.observed_value,
                result.threshold,
                result.passed,
            ]
            for result in results
        ]
        con.execute(
            "delete from marts.data_quality_results where service_code = ? and extract_date = ?",
            [service_code, extract_date],
        )
        if rows:  # a statement each: executemany ran one insert per result, 0.46 s in all
            values = ", ".join(["(" + ", ".join(["?"] * len(rows[0])) + ")"] * len(rows))
            con.execute(
                f"insert into marts.data_quality_results values {values}",
                [value for row in rows for value in row],
            )
            con.execute(
                "insert into audit.data_quality_runs "
                "select ?, current_timestamp, * from marts.data_quality_results "
                "where service_code = ? and extract_date = ?",
                [run_id, service_code, extract_date],
            )
        previous = con.execute(
            """
            with earlier as (
                select field, observed_value, extract_date
                from marts.data_quality_results
                where
                    suite = 'data_capture'
                    and service_code = ?
                    and extract_date < ?
            )
            select field, arg_max(observed_value, extract_date)
            from earlier
            group by field
            """,
            [service_code, extract_date],
        ).fetchall()
    return dict(previous)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def summarise(database: Path, run_id: str, export_dir: Path) -> RunSummary:
    with duckdb.connect(str(database), read_only=True) as con:
        service_code, service_name, extract_date = con.execute(
            "select service_code, service_name, extract_date::varchar "
            "from staging.stg_dcrs__manifests"
        ).fetchone()
        # the marts and audit tables hold every extract loaded: read this run's
        extract = "where service_code = ? and extract_date = ?::date"
        key = [service_code, extract_date]
        files = [
            FileSummary(*row)
            for row in con.execute(
                f"""
                select file_name, encoding, rows_read, rows_staged, rows_rejected, extra_columns
                from audit.load_reconciliation
                {extract}
                order by file_name
                """,
                key,
            ).fetchall()
        ]
        values_invalid = con.execute(
            f"select count(*) from audit.load_issues {extract} "
            "and outcome = 'value counted as Invalid'",
            key,
        ).fetchone()[0]
        measures_built, mart_rows = con.execute(
            f"select count(distinct measure_id), count(*) from marts.measure_breakdown {extract}",
            key,
        ).fetchone()
        cursor = con.execute(f"select * from marts.service_summary {extract}", key)
        headline = dict(
            zip([column[0] for column in cursor.description], cursor.fetchone(), strict=True)
        )
    return RunSummary(
        run_id=run_id,
        warehouse=database,
        service_code=service_code,
        service_name=service_name,
        extract_date=extract_date,
        export_dir=export_dir,
        files=files,
        values_invalid=values_invalid,
        measures_built=measures_built,
        mart_rows=mart_rows,
        headline=headline,
    )


def write_outputs(database: Path) -> None:
    """Write the monthly report (exact and disclosure-controlled) and the Parquet files of
    the built database, to be published with it."""
    from dcrs.publish import export_parquet
    from dcrs.report import write_report

    with duckdb.connect(str(database), read_only=True) as con:
        service_code, extract_date = con.execute(
            "select service_code, extract_date::varchar from staging.stg_dcrs__manifests"
        ).fetchone()
    outputs = _outputs_dir(database)
    export_parquet(database, outputs / PARQUET)
    write_report(database, outputs / REPORT, False, service_code, extract_date)
    write_report(database, outputs / PUBLISHED_REPORT, True, service_code, extract_date)


def _replace(source: Path, target: Path) -> None:
    """Put ``source`` where ``target`` is: one rename for a file; for a folder, the old
    one is renamed away first, so readers see the old folder or the new, never a mix."""
    if source.is_dir():
        retired = target.with_name(target.name + ".old")
        if retired.exists():
            shutil.rmtree(retired)
        if target.exists():
            os.replace(target, retired)
        os.replace(source, target)
        if retired.exists():
            shutil.rmtree(retired)
    else:
        os.replace(source, target)


def publish(database: Path, warehouse: Path) -> Path | None:
    """Swap the built file in as the published warehouse (an atomic rename), then its
    Data Docs, Parquet files and reports beside it. Returns the published Data Docs
    folder."""
    os.replace(database, warehouse)
    outputs = _outputs_dir(database)
    if outputs.exists():
        for built in sorted(outputs.iterdir()):
            _replace(built, warehouse.with_name(built.name))
        shutil.rmtree(outputs)
    docs = published_docs_dir(warehouse)
    return docs if docs.exists() else None


def send_quality_alert(summary: RunSummary, echo: Callable[[str], None]) -> str:
    """Email the service manager when a check failed. Returns what happened, in words."""
    from dcrs import alerts

    settings = alerts.SmtpSettings.from_environment()
    if settings is None:
        return alerts.alerts_off_reason()
    message = alerts.compose_quality_alert(
        summary.service_name,
        summary.service_code,
        summary.extract_date,
        str(summary.export_dir),
        summary.failed_checks,
        summary.previous_capture,
    )
    if message is None:
        return "no alert needed: every check passed"
    try:
        alerts.send(message, settings, log=echo)
    except alerts.AlertDeliveryError as error:
        raise AlertNotDelivered(
            f"The warehouse was published, but the alert to the service manager could not "
            f"be delivered: {error}"
        ) from error
    return f"alert sent to {', '.join(settings.recipients)}"


def send_failure_alert(
    export_dir: Path, warehouse: Path, error: BaseException, echo: Callable[[str], None]
) -> str:
    """Email the service manager that the run failed and nothing was published."""
    from dcrs import alerts

    settings = alerts.SmtpSettings.from_environment()
    if settings is None:
        return alerts.alerts_off_reason()
    message = alerts.compose_failure_alert(
        export_dir.name, str(export_dir), str(error), str(warehouse)
    )
    alerts.send(message, settings, log=echo)
    return f"failure alert sent to {', '.join(settings.recipients)}"


class StepRunner(Protocol):
    """Runs one named step of the pipeline: directly (the CLI) or as a Prefect task."""

    def __call__(
        self, name: str, function: Callable[..., T], *arguments: Any, io: bool = False
    ) -> T: ...


def run_directly(name: str, function: Callable[..., T], *arguments: Any, io: bool = False) -> T:
    """The CLI's step runner: call the step."""
    return function(*arguments)


def run(
    export_dir: Path = DEFAULT_EXPORT,
    warehouse: Path = DEFAULT_WAREHOUSE,
    echo: Callable[[str], None] = print,
    step: StepRunner = run_directly,
) -> RunSummary:
    """Load ``export_dir``, build every model and test, check data quality, publish
    ``warehouse`` and alert the service manager. ``dcrs run`` and the Prefect flow both
    run this; the flow passes a ``step`` that makes each step a task."""
    started = time.perf_counter()
    run_id = str(uuid.uuid4())
    export_dir = export_dir.resolve()
    warehouse = warehouse.resolve()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    building = warehouse.with_name(warehouse.name + ".building")
    with _exclusive_run(warehouse):
        return _run_locked(export_dir, warehouse, building, run_id, started, echo, step)


@contextlib.contextmanager
def _exclusive_run(warehouse: Path) -> Iterator[None]:
    """One run at a time per warehouse: a second one fails at once instead of sharing
    the build file."""
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RunInProgress(
                f"{warehouse}: another run is building this warehouse; try again when it ends"
            ) from error
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_locked(
    export_dir: Path,
    warehouse: Path,
    building: Path,
    run_id: str,
    started: float,
    echo: Callable[[str], None],
    step: StepRunner,
) -> RunSummary:
    _remove(building)
    dbt = DbtBuild(building)  # imports dbt while the export loads
    try:
        echo(f"Loading export {export_dir}")
        report = step("load export", load, export_dir, building, warehouse, io=True)
        for loaded in report.files:
            extra = (
                f"; extra columns ignored: {', '.join(loaded.extra_columns)}"
                if loaded.extra_columns
                else ""
            )
            echo(f"  {loaded.file_name}: {loaded.rows_read} rows, {loaded.encoding}{extra}")
        echo("Building models (dbt build)")
        beside_dbt = report.rows_read < QUALITY_CHECKS_BESIDE_DBT_BELOW_ROWS
        if beside_dbt:
            import_quality_checks_in_background()
        small = report.rows_read < DBT_TESTS_IN_TWO_PROCESSES_BELOW_ROWS
        step("build models", build_models, dbt, echo, 2 if small else 1)
        if beside_dbt:
            echo("Testing models (dbt test) and checking data quality (Great Expectations)")
            try:
                results = step("check data quality", check_quality, building)
            except Exception:
                # a failed data test comes first, as it does when the tests run first
                step("test models", test_models, dbt, echo)
                raise
            step("test models", test_models, dbt, echo)
        else:
            echo("Testing models (dbt test)")
            step("test models", test_models, dbt, echo)
            echo("Checking data quality (Great Expectations)")
            results = step("check data quality", check_quality, building)
        previous = step("record quality results", record_quality, building, run_id, results)
        step("write reports and Parquet files", write_outputs, building)
        summary = step("summarise", summarise, building, run_id, export_dir)
        summary.quality = results
        summary.previous_capture = previous
        summary.data_docs = step("publish", publish, building, warehouse, io=True)
    except BaseException as error:
        dbt.stop()
        _remove(building)
        if isinstance(error, Exception):
            try:
                echo(send_failure_alert(export_dir, warehouse, error, echo))
            except Exception as alert_error:  # the run's own error matters more
                echo(f"the failure alert could not be sent: {alert_error}")
        raise
    summary.warehouse = warehouse
    summary.alert = step("alert", send_quality_alert, summary, echo, io=True)
    summary.seconds = time.perf_counter() - started
    return summary
