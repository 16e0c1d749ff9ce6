"""The BI side: readers open the published warehouse read-only, as BI tools do, and never
see a half-built one.

A run builds in ``.<warehouse>.build/`` and swaps it in with an atomic rename only when
everything has passed. Here a reader in another process opens the warehouse afresh,
read-only, again and again (as a BI tool's connection pool does) while runs succeed,
fail and are killed, and checks that every read shows whole, published extracts: the
warehouse keeps every extract, so a read sees the extracts published so far, each whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import DCRS, ROOT, SAMPLE_EXPORT, copy_project, run_dcrs
from exports import client, read_rows, write_rows

# What a reader sees as the scenario publishes three months: the (service_code,
# extract_date, clients) of every extract in the warehouse
AUGUST = ("KC", "2010-08-31", 116)
SEPTEMBER = ("KC", "2010-09-30", 117)
OCTOBER = ("KC", "2010-10-31", 118)
SAMPLE = frozenset({AUGUST})
NEXT_MONTH = frozenset({AUGUST, SEPTEMBER})
MONTH_AFTER = frozenset({AUGUST, SEPTEMBER, OCTOBER})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- BI clients ---------------------------------------------------------------------------


def test_bi_client_reads_through_sqlalchemy_read_only(sample_warehouse):
    """A BI tool's connection: SQLAlchemy with duckdb-engine, read-only, as Superset
    connects (Metabase's and DBeaver's DuckDB drivers open the file read-only the same
    way, through JDBC)."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(f"duckdb:///{sample_warehouse}", connect_args={"read_only": True})
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            schemas = set(inspector.get_schema_names())
            # duckdb-engine names schemas "<database>.<schema>"
            assert {"marts", "published"} <= {name.split(".")[-1] for name in schemas}
            assert "measure_breakdown" in inspector.get_table_names(schema="marts")
            rows = connection.execute(
                text(
                    "select category, n, denominator, percent from marts.measure_breakdown "
                    "where measure_id = :measure order by category_order"
                ),
                {"measure": "gender"},
            ).all()
            assert rows[0][:3] == ("Female", 85, 116)
            assert rows[1][:3] == ("Male", 31, 116)
            published = connection.execute(
                text(
                    "select n, denominator from published.measure_breakdown "
                    "where measure_id = 'gender' and category = 'Female'"
                )
            ).one()
            assert tuple(published) == (85, 115)
            # a second pooled connection at the same time, as dashboards open several
            with engine.connect() as second:
                assert second.execute(text("select count(*) from marts.gender")).scalar() == 6
            # read-only: a BI user cannot change the warehouse
            with pytest.raises(SQLAlchemyError, match="read-only"):
                connection.execute(text("create table marts.scratch (x integer)"))
    finally:
        engine.dispose()


def duckdb_cli() -> str | None:
    beside = Path(sys.executable).with_name("duckdb")
    if beside.exists():
        return str(beside)
    return shutil.which("duckdb")


def test_duckdb_cli_reads_the_warehouse(sample_warehouse):
    """The DuckDB CLI (1.5, the `duckdb-cli` dev dependency) reads the warehouse, written
    in DuckDB 1.5's storage format, read-only."""
    cli = duckdb_cli()
    if cli is None:
        pytest.skip(
            "no DuckDB CLI: install the dev dependency duckdb-cli==1.5.6 (`make setup`) "
            "or put `duckdb` on PATH"
        )
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True)
    result = subprocess.run(
        [
            cli,
            "-readonly",
            "-csv",
            str(sample_warehouse),
            "select category, n, denominator from marts.measure_breakdown "
            "where measure_id = 'gender' order by category_order limit 2; "
            "select n_display from published.measure_breakdown "
            "where measure_id = 'age_band' and category = 'Declined';",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, version.stdout + result.stdout + result.stderr
    lines = result.stdout.split()
    assert lines[:3] == ["category,n,denominator", "Female,85,116", "Male,31,116"], lines
    assert lines[3:] == ["n_display", "*"], lines


# --- readers during runs that succeed, fail and are killed ------------------------------

READER = textwrap.dedent(
    """
    # A BI-like reader: opens the warehouse read-only afresh each time, reads the gender
    # breakdown and the service summary in one connection, writes one JSON line a read.
    import json, sys, time
    from pathlib import Path

    import duckdb

    warehouse, log_path, stop_path = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    seconds, max_reads, pause = float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    deadline = time.monotonic() + seconds
    reads = 0
    with open(log_path, "w") as log:
        while reads < max_reads and time.monotonic() < deadline and not stop_path.exists():
            reads += 1
            started = time.time()
            try:
                con = duckdb.connect(warehouse, read_only=True)
                try:
                    breakdown = con.execute(
                        "select service_code, extract_date::varchar, sum(n)::bigint "
                        "from marts.measure_breakdown where measure_id = 'gender' "
                        "group by all"
                    ).fetchall()
                    summary = con.execute(
                        "select service_code, extract_date::varchar, clients_registered "
                        "from marts.service_summary"
                    ).fetchall()
                finally:
                    con.close()
                record = {"t": started, "breakdown": breakdown, "summary": summary}
            except Exception as error:
                record = {"t": started, "error": f"{type(error).__name__}: {error}"}
            log.write(json.dumps(record) + "\\n")
            log.flush()
            time.sleep(pause)
    """
)


def next_month_export(target: Path, months_on: int = 1) -> Path:
    """The sample one or two months on (extract date 2010-09-30 or 2010-10-31), with one
    more client each month."""
    shutil.copytree(SAMPLE_EXPORT, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["extract_date"] = {1: "2010-09-30", 2: "2010-10-31"}[months_on]
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    clients = read_rows(target, "clients.csv")
    extra = [
        client("KC999001", registration_date="15/09/2010", initial_assessment_date="16/09/2010"),
        client("KC999002", registration_date="15/10/2010", initial_assessment_date="18/10/2010"),
    ][:months_on]
    write_rows(target, "clients.csv", [*clients, *extra])
    return target


def failing_project(target: Path) -> Path:
    """A copy of the dbt project with one more data test, which fails: a run pointed at it
    (DCRS_PROJECT_DIR) builds the models and then fails dbt build, as a run whose data
    breaks a test would. The repository's own models are not touched."""
    copy_project(target)
    (target / "tests" / "dbt" / "assert_injected_failure.sql").write_text(
        "-- fails on purpose (tests/test_readers.py): every gender row is returned\n"
        "select * from {{ ref('measure_breakdown') }} where measure_id = 'gender'\n"
    )
    return target


def kill_mid_build(export: Path, warehouse: Path) -> tuple[int, bool, str]:
    """Start `dcrs run`, wait until it is building in `.<warehouse>.build/` and dbt has
    built something, then SIGKILL it and its dbt (the whole process group, as when the
    machine or the job is killed). Returns the exit status, whether the build folder was
    there at the kill, and the output."""
    building = warehouse.with_name(f".{warehouse.name}.build")
    process = subprocess.Popen(
        # --verbose: dbt's lines, live
        [str(DCRS), "run", "--export", str(export), "--warehouse", str(warehouse), "--verbose"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    output: list[str] = []
    building_models = dbt_working = False
    deadline = time.monotonic() + 300
    try:
        while not dbt_working and time.monotonic() < deadline and process.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            output.append(line)
            building_models = building_models or line.strip().startswith("load export")
            # a dbt progress line: "12 of 160 OK created sql table model ..."
            dbt_working = building_models and " of " in line and " OK " in line
        assert dbt_working, "dbt never started building:\n" + "".join(output)
        time.sleep(1.0)
        was_building = building.exists()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        reader.join(timeout=10)
    return process.returncode, was_building, "".join(output)


def state(record: dict) -> frozenset | None:
    """The (service_code, extract_date, clients) of every extract read, when the read was
    whole and consistent: each extract's breakdown adds up to its summary's clients."""
    if "error" in record:
        return None
    breakdown = frozenset(tuple(row) for row in record["breakdown"])
    summary = frozenset(tuple(row) for row in record["summary"])
    if len(summary) != len(record["summary"]) or breakdown != summary:
        return None
    return summary


@pytest.fixture(scope="module")
def runs_under_a_reader(sample_warehouse, tmp_path_factory):
    """Publish the sample, start a reader, then: publish next month (succeeds), and for the
    month after: an untrusted export (fails), a build that fails a data test, a run killed
    mid-build, and the export itself (succeeds). Returns what the runs and the reader did."""
    work = tmp_path_factory.mktemp("readers")
    warehouse = work / "warehouse" / "dcrs.duckdb"
    warehouse.parent.mkdir()
    building = warehouse.with_name(f".{warehouse.name}.build")
    shutil.copy(sample_warehouse, warehouse)  # the sample, published by an earlier run

    next_month = next_month_export(work / "next-month")
    month_after = next_month_export(work / "month-after", months_on=2)
    untrusted = work / "untrusted"
    shutil.copytree(month_after, untrusted)
    (untrusted / "goals.csv").unlink()
    project = failing_project(work / "failing-project")

    script = work / "reader.py"
    script.write_text(READER)
    log = work / "reads.jsonl"
    stop = work / "stop-reading"
    reader = subprocess.Popen(
        [sys.executable, str(script), str(warehouse), str(log), str(stop), "900", "100000", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    phases: dict[str, tuple[float, float]] = {}
    results: dict[str, object] = {}
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and log.read_text().count("\n") >= 3):
            assert time.monotonic() < deadline and reader.poll() is None, "the reader never read"
            time.sleep(0.2)

        def phase(name: str, action):
            started = time.time()
            results[name] = action()
            phases[name] = (started, time.time())

        phase("next month published", lambda: run_dcrs(next_month, warehouse))
        after_next_month = digest(warehouse)
        phase("untrusted export", lambda: run_dcrs(untrusted, warehouse))
        results["digest after untrusted"] = digest(warehouse)
        results["building after untrusted"] = building.exists()
        phase(
            "dbt build fails",
            lambda: subprocess.run(
                [str(DCRS), "run", "--export", str(month_after), "--warehouse", str(warehouse)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, "DCRS_PROJECT_DIR": str(project)},
                check=False,
            ),
        )
        results["digest after build failure"] = digest(warehouse)
        results["building after build failure"] = building.exists()
        phase("killed mid-build", lambda: kill_mid_build(month_after, warehouse))
        results["digest after kill"] = digest(warehouse)
        results["building after kill"] = building.exists()
        with duckdb.connect(str(warehouse), read_only=True) as con:
            results["published after kill"] = frozenset(
                con.execute(
                    "select service_code, extract_date::varchar, clients_registered "
                    "from marts.service_summary"
                ).fetchall()
            )
        phase("month after published", lambda: run_dcrs(month_after, warehouse))
        results["building at the end"] = building.exists()
        results["wal at the end"] = warehouse.with_name(warehouse.name + ".wal").exists()
        results["digest after next month"] = after_next_month
        time.sleep(1.0)  # a few reads of the final state
    finally:
        stop.touch()
        try:
            reader.wait(timeout=120)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait()
    reads = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return {
        "warehouse": warehouse,
        "phases": phases,
        "results": results,
        "reads": reads,
        "reader_status": reader.returncode,
        "reader_stderr": reader.stderr.read() if reader.stderr else "",
    }


def reads_during(scenario, name: str) -> list[tuple | None]:
    started, ended = scenario["phases"][name]
    return [state(read) for read in scenario["reads"] if started <= read["t"] <= ended]


def test_the_reader_ran_throughout_and_exited_by_itself(runs_under_a_reader):
    assert runs_under_a_reader["reader_status"] == 0, runs_under_a_reader["reader_stderr"]
    assert len(runs_under_a_reader["reads"]) >= 50
    for name in runs_under_a_reader["phases"]:
        assert reads_during(runs_under_a_reader, name), f"no read during {name}"


def test_every_read_is_whole_consistent_and_published(runs_under_a_reader):
    errors = [read for read in runs_under_a_reader["reads"] if "error" in read]
    assert errors == [], errors[:5]
    published = (SAMPLE, NEXT_MONTH, MONTH_AFTER)
    bad = [read for read in runs_under_a_reader["reads"] if state(read) not in published]
    assert bad == [], bad[:5]
    seen = {state(read) for read in runs_under_a_reader["reads"]}
    assert seen == set(published)


def test_the_published_extract_changes_only_when_a_run_publishes(runs_under_a_reader):
    # next month replaces the sample once, and never the other way round during that run
    # (the swap can come after the run's last read: the process ends right after it; the
    # reads of the next phase show what it published)
    during = reads_during(runs_under_a_reader, "next month published")
    switched = during.index(NEXT_MONTH) if NEXT_MONTH in during else len(during)
    assert set(during[:switched]) <= {SAMPLE}
    assert set(during[switched:]) <= {NEXT_MONTH}
    # failed and killed runs change nothing a reader sees
    for name in ("untrusted export", "dbt build fails", "killed mid-build"):
        assert set(reads_during(runs_under_a_reader, name)) == {NEXT_MONTH}, name
    during = reads_during(runs_under_a_reader, "month after published")
    switched = during.index(MONTH_AFTER) if MONTH_AFTER in during else len(during)
    assert set(during[:switched]) <= {NEXT_MONTH}
    assert set(during[switched:]) <= {MONTH_AFTER}
    assert state(runs_under_a_reader["reads"][-1]) == MONTH_AFTER


def test_runs_end_as_documented(runs_under_a_reader):
    results = runs_under_a_reader["results"]
    published = results["next month published"]
    assert published.returncode == 0, published.stdout + published.stderr
    untrusted = results["untrusted export"]
    assert untrusted.returncode == 2, untrusted.stdout + untrusted.stderr
    assert "goals.csv" in untrusted.stderr
    failed = results["dbt build fails"]
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "assert_injected_failure" in failed.stdout + failed.stderr
    status, was_building, output = results["killed mid-build"]
    assert status == -signal.SIGKILL, output
    assert was_building, output
    again = results["month after published"]
    assert again.returncode == 0, again.stdout + again.stderr


def test_failed_and_killed_runs_leave_the_published_warehouse_as_it_was(runs_under_a_reader):
    results = runs_under_a_reader["results"]
    before = results["digest after next month"]
    assert results["digest after untrusted"] == before
    assert results["digest after build failure"] == before
    assert results["digest after kill"] == before
    assert not results["building after untrusted"]
    assert not results["building after build failure"]
    # the killed run could not clean up after itself ...
    assert results["building after kill"]
    # ... the published warehouse still opens ...
    assert results["published after kill"] == NEXT_MONTH
    # ... and the next run cleared the leftover and published
    assert not results["building at the end"]
    assert not results["wal at the end"]
    with duckdb.connect(str(runs_under_a_reader["warehouse"]), read_only=True) as con:
        assert (
            frozenset(
                con.execute(
                    "select service_code, extract_date::varchar, clients_registered "
                    "from marts.service_summary"
                ).fetchall()
            )
            == MONTH_AFTER
        )
