"""The README's deployment walkthrough, for real: a Prefect server on loopback with its
own PREFECT_HOME, a process work pool, `prefect deploy --all` from prefect.yaml, a worker,
`prefect deployment run`, and the marts the run built. Every process started here is
stopped by its PID."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, connect

PREFECT = Path(sys.executable).with_name("prefect")
FLOW_RUN_TIMEOUT_SECONDS = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api(base: str, path: str, body: dict | None = None) -> dict | list:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def flow_run_logs(base: str, flow_run_id: str) -> list[dict]:
    """Every log record of a flow run and its tasks, oldest first (the API gives at most
    200 a request)."""
    records: list[dict] = []
    while True:
        page = api(
            base,
            "/logs/filter",
            {
                "logs": {"flow_run_id": {"any_": [flow_run_id]}},
                "sort": "TIMESTAMP_ASC",
                "offset": len(records),
                "limit": 200,
            },
        )
        records += page
        if len(page) < 200:
            return records


def stop(process: subprocess.Popen, first_signal: int = signal.SIGINT) -> None:
    """Stop a process by its PID: a polite signal, then SIGKILL."""
    if process.poll() is not None:
        return
    os.kill(process.pid, first_signal)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PWD": str(ROOT),
    }
    for name in ("DCRS_SMTP_HOST", "DCRS_ALERT_TO"):
        env.pop(name, None)
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=home,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if api(env["PREFECT_API_URL"], "/health") is True:
                    break
            except OSError:
                pass
            assert server.poll() is None, (home / "server.log").read_text()
            assert time.monotonic() < deadline, "Prefect server did not become healthy"
            time.sleep(0.5)
        yield env
    finally:
        stop(server)
        log.close()


def prefect(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(PREFECT), *arguments],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_deploy_schedule_and_run_to_completed(prefect_env, tmp_path):
    base = prefect_env["PREFECT_API_URL"]
    prefect(prefect_env, "work-pool", "create", "dcrs-process", "--type", "process")
    prefect(prefect_env, "--no-prompt", "deploy", "--all")

    deployment = api(base, "/deployments/name/dcrs-monthly/monthly")
    (schedule,) = deployment["schedules"]
    assert schedule["schedule"]["cron"] == "0 7 5 * *"
    assert schedule["schedule"]["timezone"] == "Europe/London"
    assert deployment["work_pool_name"] == "dcrs-process"

    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [str(PREFECT), "worker", "start", "--pool", "dcrs-process"],
        env=prefect_env,
        cwd=ROOT,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    try:
        warehouse = tmp_path / "deployed" / "dcrs.duckdb"
        started = prefect(
            prefect_env,
            "deployment",
            "run",
            "dcrs-monthly/monthly",
            "--param",
            f"warehouse={warehouse}",
        )
        flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout).group(1)
        deadline = time.monotonic() + FLOW_RUN_TIMEOUT_SECONDS
        while True:
            state = api(base, f"/flow_runs/{flow_run_id}")["state"]["type"]
            if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            assert time.monotonic() < deadline, f"flow run still {state}"
            time.sleep(2)
        assert state == "COMPLETED", (tmp_path / "worker.log").read_text()[-5000:]
    finally:
        stop(worker)
        worker_log.close()

    with connect(warehouse) as con:
        assert con.execute("select clients_registered from marts.service_summary").fetchall() == [
            (116,)
        ]
        assert con.execute(
            "select count(distinct measure_id) from marts.measure_breakdown"
        ).fetchone() == (21,)
        failed = con.execute(
            "select field from marts.data_quality_results where not passed order by field"
        ).fetchall()
    assert failed == [("bmi",), ("disability",), ("primary_health_issue",), ("signposted_to",)]

    task_runs = api(base, "/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}})
    names = {run["name"].rsplit("-", 1)[0] for run in task_runs}
    expected = {
        "load export",
        "dbt build",
        "write reports and Parquet files",
        "summarise",
        "release",
        "alert",
    }
    assert expected <= names, names

    # dbt's output is in the log of the task that ran it, plain text (no colour codes)
    records = flow_run_logs(base, flow_run_id)
    coloured = [record["message"] for record in records if "\x1b[" in record["message"]]
    assert not coloured, coloured[:5]
    (build_run,) = [run for run in task_runs if run["name"].startswith("dbt build")]
    dbt_lines = [
        record for record in records if re.search(r"\d+ of \d+ (PASS|OK) ", record["message"])
    ]
    assert dbt_lines, [record["message"] for record in records][:50]
    assert {record["task_run_id"] for record in dbt_lines} == {build_run["id"]}
    assert any("Completed successfully" in record["message"] for record in records)
    # the run's summary is in the flow run's log, not only in the artifact
    (published,) = [record for record in records if record["message"].startswith("Published ")]
    assert published["task_run_id"] is None
    assert any("quality checks 59, failed 4" in record["message"] for record in records)
    worker_output = (tmp_path / "worker.log").read_text()
    assert "leaked semaphore" not in worker_output

    artifacts = api(
        base, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}
    )
    (artifact,) = [item for item in artifacts if item["key"] == "dcrs-run-summary"]
    assert "Clients registered | 116" in artifact["data"]
    assert (
        "| disability | all clients | 67 of 116 | 57.8% | 95% | none | **below** |"
        in (artifact["data"])
    )
