"""The inbox: each export's outcome is its own, a refusal is remembered until the export's
files change, and every failure has its documented exit status and a short message."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import duckdb
import pytest
from conftest import DCRS, ROOT, copy_project
from smtp_server import running_smtp_server

from dcrs.generate import generate


def dcrs(*arguments: str, **settings: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DCRS_")}
    return subprocess.run(
        [str(DCRS), *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment | settings,
        check=False,
    )


def smtp(port: int) -> dict[str, str]:
    return {
        "DCRS_SMTP_HOST": "127.0.0.1",
        "DCRS_SMTP_PORT": str(port),
        "DCRS_ALERT_FROM": "dcrs@example.org",
        "DCRS_ALERT_TO": "manager@example.org",
    }


def loaded(warehouse: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select service_code, extract_date::varchar from history.loaded_extracts order by all"
        ).fetchall()


def test_one_bad_export_does_not_block_another_services(tmp_path):
    """Service A's export is broken, service B's is good: B is published, A refused and
    named, exit 2 and one failure email. The next run lists A without trying it again or
    emailing again, and exits 0; once A's files are corrected, it loads."""
    inbox = tmp_path / "inbox"
    first, second = generate(inbox, clients=120, services=2, months=1)
    goals = (first / "goals.csv").read_bytes()
    (first / "goals.csv").unlink()
    warehouse = tmp_path / "dcrs.duckdb"
    with running_smtp_server() as server:
        result = dcrs(
            "run-inbox", "--inbox", str(inbox), "--warehouse", str(warehouse), **smtp(server.port)
        )
        assert result.returncode == 2, result.stdout + result.stderr
        failure_emails = [m for m in server.messages if "failed" in m["Subject"]]
        assert len(failure_emails) == 1
        assert loaded(warehouse) == [(second.parent.name, second.name)]
        assert "1 published, 0 already in the warehouse, 1 refused" in result.stdout
        assert f"refused: {first}" in result.stdout

        again = dcrs(
            "run-inbox", "--inbox", str(inbox), "--warehouse", str(warehouse), **smtp(server.port)
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"Refused earlier, files unchanged, not tried again: {first}" in again.stdout
        assert len(server.messages) == len(failure_emails) + 1  # B's quality alert, no more

    (first / "goals.csv").write_bytes(goals)
    fixed = dcrs("run-inbox", "--inbox", str(inbox), "--warehouse", str(warehouse))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert loaded(warehouse) == sorted(
        [(first.parent.name, first.name), (second.parent.name, second.name)]
    )
    assert "1 published, 1 already in the warehouse, 0 refused" in fixed.stdout


@pytest.mark.fast
def test_a_warehouse_held_open_for_writing_gets_a_clear_message(tmp_path):
    warehouse = tmp_path / "dcrs.duckdb"
    with duckdb.connect(str(warehouse)):  # as DBeaver does by default
        result = dcrs("run", "--warehouse", str(warehouse), "--wait", "0")
    assert result.returncode == 7, result.stdout + result.stderr
    assert f"process {os.getpid()} holds it open for writing" in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr


def make_read_only(folder: Path) -> bool:
    """Make ``folder`` unwritable to this user: root may write anywhere, so for root the
    folder is made immutable (chattr +i; not every file system supports it)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return True
    return subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0


@pytest.mark.fast
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_folder_the_run_cannot_write_gets_exit_8(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    if not make_read_only(folder):
        pytest.skip("cannot make a folder read-only to root on this file system")
    try:
        result = dcrs("run", "--warehouse", str(folder / "dcrs.duckdb"), "--wait", "0")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
    assert result.returncode == 8, result.stdout + result.stderr
    assert "Cannot write the warehouse's files" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.fast
def test_an_unexpected_error_is_one_line_with_the_traceback_in_the_log(tmp_path):
    """A fault in the pipeline itself (here: its project lacks a variable) exits 1 with a
    short message naming the log file, which holds the traceback."""
    project = copy_project(tmp_path / "project")
    settings = project / "dbt_project.yml"
    settings.write_text(settings.read_text().replace("warehouse_schema_version:", "renamed:"))
    warehouse = tmp_path / "dcrs.duckdb"
    result = dcrs("run", "--warehouse", str(warehouse), DCRS_PROJECT_DIR=str(project))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Unexpected error (KeyError): 'warehouse_schema_version'" in result.stderr
    assert f"the details are in {warehouse}.log" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Traceback (most recent call last)" in Path(f"{warehouse}.log").read_text()


def test_an_alert_that_cannot_be_composed_after_publishing_is_exit_4(tmp_path):
    """DCRS_ALERT_FROM unset: the run publishes, says so, and exits 4; the alert waits."""
    warehouse = tmp_path / "dcrs.duckdb"
    settings = smtp(1)
    del settings["DCRS_ALERT_FROM"]
    result = dcrs("run", "--warehouse", str(warehouse), **settings)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "The warehouse was published, but an alert" in result.stderr
    assert "DCRS_ALERT_FROM is not" in result.stderr
    assert loaded(warehouse) == [("KC", "2010-08-31")]
    assert len(list(Path(f"{warehouse}.outbox").iterdir())) == 1


def test_a_second_run_waits_for_the_first_then_runs(tmp_path):
    warehouse = tmp_path / "dcrs.duckdb"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DCRS_")}
    command = [str(DCRS), "run", "--warehouse", str(warehouse)]
    first = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    # the second starts once the first holds the lock (it prints before loading)
    assert first.stdout is not None
    first.stdout.readline()
    second = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    assert first.wait() == 0
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Another run is building" in second.stdout
    assert loaded(warehouse) == [("KC", "2010-08-31")]


def _remember_many(warehouse: str, prefix: str, count: int) -> None:
    from dcrs.inbox import remember_refusal

    for number in range(count):
        remember_refusal(Path(warehouse), Path(prefix), f"{prefix}-{number}", ValueError("bad"))


@pytest.mark.fast
def test_refusals_recorded_at_once_by_two_commands_are_all_kept(tmp_path):
    import multiprocessing

    from dcrs.inbox import read_refusals

    warehouse = tmp_path / "dcrs.duckdb"
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_remember_many, args=(str(warehouse), prefix, 60))
        for prefix in ("run", "run-inbox")
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0
    assert len(read_refusals(warehouse)) == 120
