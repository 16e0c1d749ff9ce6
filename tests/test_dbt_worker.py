"""The process `dcrs run` starts for dbt before the export is loaded (src/dcrs/dbt_worker.py),
driven as the pipeline drives it (DbtBuild): it builds only once it is told to; once the
models are built, the database can be read while the data tests run; a failing model
stops it before the tests, a failing test fails it after the models; and a run that stops
before its build leaves no dbt behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import DCRS, SAMPLE_EXPORT, copy_project

from dcrs.dbt_worker import READ_ONLY_TARGET
from dcrs.pipeline import (
    DBT_DATABASE,
    BuildError,
    DbtBuild,
    dbt_arguments,
    dbt_environment,
    load,
)


def loaded_sample(folder: Path) -> Path:
    """The bundled sample loaded into a new database, as a run hands it to dbt."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "building.duckdb"
    load(SAMPLE_EXPORT, database, folder / "no-warehouse.duckdb")
    return database


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def test_the_database_can_be_read_while_the_data_tests_run(tmp_path):
    database = loaded_sample(tmp_path / "run")
    dbt = DbtBuild(database)
    lines: list[str] = []
    dbt.build_models(lines.append)
    assert any("Done. PASS=" in line and "ERROR=0" in line for line in lines), lines
    # another process (this one) holds the database open, read-only, while dbt runs every
    # data test: dbt's tests must open it read-only too, and the models' connection must
    # be closed, or one of the two is refused by DuckDB's lock
    with duckdb.connect(str(database), read_only=True) as con:
        assert dbt.process.poll() is None  # the tests are still running
        assert row_count(con, "marts.measure_breakdown") > 0
        dbt.test_models(lines.append)
        assert row_count(con, "marts.measure_breakdown") > 0
    tested = "\n".join(lines)
    assert f"target='{READ_ONLY_TARGET}'" in tested, tested
    done = re.search(
        r"Finished running (\d+) data tests.*Done\. PASS=(\d+) WARN=0 ERROR=0", tested, re.S
    )
    assert done and done[1] == done[2] and int(done[1]) > 0, tested
    assert not dbt.workdir.exists()


def test_a_failing_data_test_fails_it_after_the_models(tmp_path):
    project = copy_project(tmp_path / "project")
    (project / "tests" / "dbt" / "assert_injected_failure.sql").write_text(
        "select * from {{ ref('measure_breakdown') }} where measure_id = 'gender'\n"
    )
    database = loaded_sample(tmp_path / "run")
    dbt = DbtBuild(database, project)
    dbt.build_models(lambda line: None)
    with pytest.raises(BuildError, match="a data test failed") as failed:
        dbt.test_models(lambda line: None)
    assert "FAIL" in str(failed.value) and "assert_injected_failure" in str(failed.value)
    with duckdb.connect(str(database), read_only=True) as con:
        assert row_count(con, "marts.measure_breakdown") > 0  # the models were built
    assert not dbt.workdir.exists()


def test_a_model_that_cannot_build_stops_it_before_the_tests(tmp_path):
    project = copy_project(tmp_path / "project")
    mart = project / "models" / "marts" / "service_summary.sql"
    mart.write_text(mart.read_text().replace("select * from final", "select * from no_such_cte"))
    database = loaded_sample(tmp_path / "run")
    dbt = DbtBuild(database, project)
    lines: list[str] = []
    with pytest.raises(BuildError, match="dbt could not build the models") as failed:
        dbt.build_models(lines.append)
    assert "service_summary" in str(failed.value)
    assert dbt.process.wait(timeout=60) == 1
    assert READ_ONLY_TARGET not in "\n".join(lines)  # the tests never started
    dbt.stop()  # as the run does when a step fails
    assert not dbt.workdir.exists()


def test_without_the_line_dbt_does_not_build(tmp_path):
    database = loaded_sample(tmp_path / "run")
    before = database.read_bytes()
    for line in ("", "something else\n"):
        dbt = DbtBuild(database)
        output, _ = dbt.process.communicate(line, timeout=300)
        assert dbt.process.returncode == 0, output
        assert output == "", output  # the project loads quietly; nothing runs
        dbt.stop()
        assert database.read_bytes() == before
        assert not database.with_name(database.name + ".wal").exists()
    # and a run that stops before its build ends the process at once
    dbt = DbtBuild(database)
    dbt.stop()
    assert dbt.process.returncode == -signal.SIGKILL  # it was still loading dbt
    assert not dbt.workdir.exists()
    assert database.read_bytes() == before


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


def test_checks_beside_the_tests_or_after_them_publish_the_same(tmp_path, sample_warehouse):
    # the sample's run checks the data while dbt runs its tests (sample_warehouse); an
    # export over the threshold checks it after them: both publish the same tables
    warehouse = tmp_path / "w.duckdb"
    after = subprocess.run(
        [str(DCRS), "run", "--export", str(SAMPLE_EXPORT), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        env={**os.environ, "DCRS_QUALITY_CHECKS_BESIDE_DBT_BELOW_ROWS": "0"},
        check=False,
    )
    assert after.returncode == 0, after.stdout[-3000:] + after.stderr
    lines = after.stdout.splitlines()
    tests, checks = (
        lines.index("Testing models (dbt test)"),
        lines.index("Checking data quality (Great Expectations)"),
    )
    assert tests < checks
    assert any("data tests" in line for line in lines[tests:checks])  # dbt's, before GX
    for table in (
        "marts.data_quality_results",
        "marts.measure_breakdown",
        "marts.data_capture",
        "published.measure_breakdown",
    ):
        rows = []
        for path in (sample_warehouse, warehouse):
            with duckdb.connect(str(path), read_only=True) as con:
                rows.append(sorted(con.sql(f"from {table}").fetchall()))
        assert rows[0] == rows[1] and rows[0], table


def data_test_results(lines: list[str]) -> list[tuple[str, str]]:
    """(result, test name) of each data test in dbt's progress lines."""
    return sorted(
        (match[1], match[2])
        for line in lines
        if (match := re.search(r"\d+ of \d+ (PASS|FAIL|ERROR|WARN)(?: \d+)? (\S+) [. ]*\[", line))
    )


def test_the_data_tests_in_two_processes_are_every_test_once(tmp_path):
    # on a small export the data tests run in dbt's process and a fork of it, each every
    # other test: together they must run each test exactly once, as one process does
    results = []
    for processes in (1, 2):
        dbt = DbtBuild(loaded_sample(tmp_path / f"run{processes}"))
        lines: list[str] = []
        dbt.build_models(lines.append, test_processes=processes)
        dbt.test_models(lines.append)
        results.append(data_test_results(lines))
        done = [
            int(count)
            for count in re.findall(r"Done\. PASS=(\d+) WARN=0 ERROR=0", "\n".join(lines))
        ]
        assert len(done) == 1 + processes, lines  # the models' build, then each part
        if processes == 2:
            assert any("data tests in 2 processes" in line for line in lines), lines
            assert all(count > 0 for count in done[1:]), done  # both parts ran tests
    one, two = results
    assert len(one) > 100 and all(result == "PASS" for result, _ in one), one
    assert two == one  # the same tests, each once (a list: a test run twice shows twice)


def data_tests_by_part(project: Path, parts: int, target: Path) -> list[list[str]]:
    """The data tests each of ``parts`` processes runs (split_tests), from a parse of
    ``project`` in another process."""
    script = (
        "import json, sys\n"
        "from dbt.cli.main import dbtRunner\n"
        "from dcrs.dbt_worker import split_tests\n"
        "parsed = dbtRunner().invoke(sys.argv[2:])\n"
        "print(json.dumps(split_tests(parsed.result, int(sys.argv[1]))))\n"
    )
    arguments = dbt_arguments("parse", "--quiet", "--target-path", str(target), project=project)
    parse = subprocess.run(
        [sys.executable, "-c", script, str(parts), *arguments],
        capture_output=True,
        text=True,
        env=dbt_environment(),
        check=True,
    )
    return json.loads(parse.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("failing", ["a", "b"])
def test_a_failing_data_test_in_either_process_fails_it(tmp_path, failing):
    # two singular tests next to each other in the order of test ids fall one into each
    # part: whichever of them fails, in dbt's process or in its fork, fails the tests
    project = copy_project(tmp_path / "project")
    for name in "ab":
        where = "measure_id = 'gender'" if name == failing else "false"
        (project / "tests" / "dbt" / f"assert_injected_{name}.sql").write_text(
            f"select * from {{{{ ref('measure_breakdown') }}}} where {where}\n"
        )
    parts = data_tests_by_part(project, 2, tmp_path / "target")
    part_of = {
        name: [index for index, part in enumerate(parts) if f"assert_injected_{name}" in part]
        for name in "ab"
    }
    assert sorted(part_of.values()) == [[0], [1]], part_of  # each in one part, not the same
    dbt = DbtBuild(loaded_sample(tmp_path / "run"), project)
    lines: list[str] = []
    dbt.build_models(lines.append, test_processes=2)
    with pytest.raises(BuildError, match="a data test failed") as failed:
        dbt.test_models(lines.append)
    assert f"assert_injected_{failing}" in str(failed.value)
    results = {name: result for result, name in data_test_results(lines)}
    assert results[f"assert_injected_{failing}"] == "FAIL"
    assert results[f"assert_injected_{'b' if failing == 'a' else 'a'}"] == "PASS"
    assert not dbt.workdir.exists()


def running(pid: int) -> bool:
    """Whether a process is running (not ended, not a zombie), from /proc."""
    with contextlib.suppress(OSError):
        # pid (comm) state ...: comm may hold spaces, so split after it
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return False


def test_stopping_a_run_ends_the_forks_running_tests(tmp_path):
    dbt = DbtBuild(loaded_sample(tmp_path / "run"))
    dbt.build_models(lambda line: None, test_processes=2)
    worker = dbt.process.pid
    command = Path(f"/proc/{worker}/cmdline").read_bytes()

    def forks() -> list[int]:  # dbt's process's copies, not multiprocessing's helper
        children = Path(f"/proc/{worker}/task/{worker}/children").read_text().split()
        return [
            int(child)
            for child in children
            if running(int(child)) and Path(f"/proc/{child}/cmdline").read_bytes() == command
        ]

    deadline = time.monotonic() + 30
    while not forks() and time.monotonic() < deadline:
        time.sleep(0.05)
    (fork,) = forks()
    dbt.stop()  # while the tests run, as a run does when its quality checks fail
    deadline = time.monotonic() + 30  # the kernel ends the fork when dbt's process ends
    while running(fork) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(fork)
    # ended, not waited for: stop() reads dbt's output to its end, which a fork left
    # running would hold open until its tests were done
    assert not any("Done." in line for line in dbt._test_lines), dbt._test_lines
    assert not dbt.workdir.exists()
