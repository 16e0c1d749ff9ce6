"""`dbt build` as a run calls it (dcrs.build): one dbt process for seeds, models and data
tests in dependency order. A failing test skips what depends on it and publishes nothing;
a model that cannot build does the same; unit tests stay out of runs; a run stopped by
Ctrl-C stops dbt and leaves nothing behind; dbt run by hand does not break the next run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import DCRS, ROOT, SAMPLE_EXPORT, copy_project, run_dcrs

from dcrs.build import DATABASE_NAME


def test_a_failing_data_test_skips_what_depends_on_it_and_publishes_nothing(tmp_path):
    project = copy_project(tmp_path / "project")
    # a test on an intermediate model that every mart depends on
    (project / "tests" / "dbt" / "assert_injected_failure.sql").write_text(
        "-- fails on purpose (tests/test_build.py)\n"
        "select * from {{ ref('int_clients_validated') }} where gender = 'Female'\n"
    )
    warehouse = tmp_path / "dcrs.duckdb"
    result = run_dcrs(SAMPLE_EXPORT, warehouse, project=project)
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    # the terminal gets the part of dbt's output that says what failed, and no traceback
    assert re.search(r"FAIL \d+ assert_injected_failure", result.stderr), output
    assert "Failure in test assert_injected_failure" in result.stderr, output
    assert "Traceback" not in output
    assert len(output.splitlines()) < 60, output
    assert "nothing was published" in output
    # dbt's whole output is in the log file beside the warehouse: downstream of the
    # failing test, skipped, not built
    log = warehouse.with_name(warehouse.name + ".log").read_text()
    assert f"dbt's whole output is in {warehouse}.log" in result.stderr
    assert re.search(r"SKIP relation marts\.measure_breakdown", log), log[-3000:]
    assert "OK created sql incremental model marts.measure_breakdown" not in log
    assert re.search(r"\d+ of \d+ (PASS|OK) ", log)
    assert not re.search(r"\d+ of \d+ (PASS|OK|SKIP) ", output), output
    assert not warehouse.exists()
    assert not warehouse.with_name(f".{warehouse.name}.build").exists()


def test_a_model_that_cannot_build_fails_the_run(tmp_path):
    project = copy_project(tmp_path / "project")
    mart = project / "models" / "marts" / "service_summary.sql"
    mart.write_text(mart.read_text().replace("select * from final", "select * from no_such_cte"))
    warehouse = tmp_path / "dcrs.duckdb"
    result = run_dcrs(SAMPLE_EXPORT, warehouse, project=project)
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "ERROR creating sql incremental model marts.service_summary" in output
    assert "service_summary" in result.stderr  # the failure is named in the message
    assert not warehouse.exists()


def test_unit_tests_stay_out_of_runs(sample_warehouse):
    dbt_output = sample_warehouse.with_name(sample_warehouse.name + ".log").read_text()
    found = re.search(r"Found .* (\d+) unit tests", dbt_output)
    assert found and int(found[1]) > 0, dbt_output  # the project has unit tests ...
    finished = next(line for line in dbt_output.splitlines() if "Finished running" in line)
    assert "unit test" not in finished  # ... and the run does not run them
    assert "data tests" in finished


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is ``folder`` (dbt runs in the build folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_ctrl_c_stops_dbt_and_removes_the_build_folder(tmp_path):
    warehouse = tmp_path / "dcrs.duckdb"
    building = warehouse.with_name(f".{warehouse.name}.build")
    process = subprocess.Popen(
        [
            str(DCRS),
            "run",
            "--export",
            str(SAMPLE_EXPORT),
            "--warehouse",
            str(warehouse),
            "--verbose",  # dbt's output, live
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        # a terminal delivers Ctrl-C; a shell's background job (`make test &`) would pass
        # its ignored SIGINT on to the run, which then rightly goes on to publish
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    for line in process.stdout:
        if " OK created " in line:  # dbt is building
            break
    dbt = _processes_in(building)
    assert dbt, "dbt was not running in the build folder"
    process.send_signal(signal.SIGINT)  # as Ctrl-C in a terminal
    rest, _ = process.communicate(timeout=120)
    # the output after the signal, to tell where a run that went on reached
    assert process.returncode != 0, rest[-3000:]
    deadline = time.monotonic() + 30
    while _processes_in(building) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_in(building), "dbt kept running after the run was stopped"
    assert not building.exists()
    assert not warehouse.exists()


def test_a_dbt_command_run_by_hand_does_not_break_the_next_run(tmp_path):
    # dbt keeps the project folder it was given in its saved parse, and a run starts dbt
    # from its build folder: a parse saved by dbt run by hand with `--project-dir .` must
    # not be the one a run reads (the runs keep theirs in target/dcrs-run)
    project = copy_project(tmp_path / "project")
    by_hand = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "parse", "--project-dir", "."],
        capture_output=True,
        text=True,
        cwd=project,
        env={
            **os.environ,
            "DBT_PROFILES_DIR": str(project),
            "DCRS_WAREHOUSE": DATABASE_NAME,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        check=False,
    )
    assert by_hand.returncode == 0, by_hand.stdout + by_hand.stderr
    assert (project / "target" / "partial_parse.msgpack").exists()
    result = run_dcrs(SAMPLE_EXPORT, tmp_path / "w.duckdb", project=project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
