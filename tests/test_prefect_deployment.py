"""The README's deployment walkthrough, for real: a Prefect server on loopback with its
own PREFECT_HOME, a process work pool, `prefect deploy --all` from prefect.yaml, a worker,
`prefect deployment run`, and the marts the run built; then `python -m dcrs.prefect_setup`
and the emails the server's automations send (a failed run, a late run with no worker)
through an SMTP server on loopback, the SMTP settings from a Secret block, the
warehouse's concurrency limit, and the worker stopping on SIGTERM. Every process started
here is stopped by its PID."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, connect
from smtp_server import running_smtp_server

from dcrs import prefect_runtime, prefect_setup

PREFECT = Path(sys.executable).with_name("prefect")
FLOW_RUN_TIMEOUT_SECONDS = 300
EMAIL_TIMEOUT_SECONDS = 60
LOG_TIMEOUT_SECONDS = 60
ENGINEER = "engineer@example.org"
MANAGER = "manager@example.org"
SECRET_BLOCK = "dcrs-smtp-test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The server answers 503 when its database is busy ("retryable" in Prefect's words) and
# Prefect's own client retries 429, 502 and 503; so does this one, as the product's
# Prefect client does, rather than fail a test on a busy SQLite file.
RETRYABLE_STATUSES = (429, 502, 503)
API_ATTEMPTS = 6


def api(base: str, path: str, body: dict | None = None) -> dict | list:
    for attempt in range(API_ATTEMPTS):
        request = urllib.request.Request(
            base + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
            method="POST" if body is not None else "GET",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                content = response.read()
        except urllib.error.HTTPError as error:
            if error.code not in RETRYABLE_STATUSES or attempt == API_ATTEMPTS - 1:
                raise
            time.sleep(2**attempt)
            continue
        return json.loads(content) if content else {}
    raise AssertionError("unreachable")


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
        # a run not started 2 s after its time is late (15 s by default), looked for
        # every second: the late-run email comes within seconds
        "PREFECT_SERVER_SERVICES_LATE_RUNS_AFTER_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_LOOP_SECONDS": "1",
        # workers poll every second (10 s by default)
        "PREFECT_WORKER_QUERY_SECONDS": "1",
    }
    for name in list(env):
        if name.startswith(("DCRS_SMTP_", "DCRS_ALERT_", "DCRS_ENGINEER", "DCRS_INBOX")):
            env.pop(name)
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


@pytest.fixture(scope="module")
def deployment(prefect_env) -> dict:
    prefect(prefect_env, "work-pool", "create", "dcrs-process", "--type", "process")
    prefect(prefect_env, "--no-prompt", "deploy", "--all")
    found = api(prefect_env["PREFECT_API_URL"], "/deployments/name/dcrs-monthly/monthly")
    assert isinstance(found, dict)
    return found


@pytest.fixture(scope="module")
def smtp():
    with running_smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def setup_env(prefect_env, smtp) -> dict[str, str]:
    """The environment `dcrs.prefect_setup` runs with: the SMTP server, the engineer."""
    return {
        **prefect_env,
        "DCRS_SMTP_HOST": smtp.host,
        "DCRS_SMTP_PORT": str(smtp.port),
        "DCRS_ALERT_FROM": "dcrs@example.org",
        "DCRS_ENGINEER_TO": ENGINEER,
    }


@pytest.fixture(scope="module")
def automations(deployment, setup_env) -> subprocess.CompletedProcess[str]:
    return prefect_setup_command(setup_env)


def prefect_setup_command(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "dcrs.prefect_setup"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def start_worker(env: dict[str, str], folder: Path) -> tuple[subprocess.Popen, Path]:
    """A worker started away from the checkout, with SIGINT ignored (as a shell script's
    `prefect worker start &` starts it)."""
    log = folder / "worker.log"
    with log.open("w") as handle:
        worker = subprocess.Popen(
            [str(PREFECT), "worker", "start", "--pool", "dcrs-process"],
            env=env,
            cwd=folder,
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    return worker, log


def wait_for_state(base: str, flow_run_id: str) -> str:
    deadline = time.monotonic() + FLOW_RUN_TIMEOUT_SECONDS
    while True:
        state = api(base, f"/flow_runs/{flow_run_id}")["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        assert time.monotonic() < deadline, f"flow run still {state}"
        time.sleep(1)


def wait_for_log(base: str, flow_run_id: str, *parts: str) -> list[dict]:
    """Every log record of a flow run, once each of ``parts`` is in a record that has
    arrived."""
    deadline = time.monotonic() + LOG_TIMEOUT_SECONDS
    while True:
        records = flow_run_logs(base, flow_run_id)
        missing = [
            part for part in parts if not any(part in record["message"] for record in records)
        ]
        if not missing:
            return records
        assert time.monotonic() < deadline, f"no log record with {missing}"
        time.sleep(1)


def wait_for_email(smtp, recipient: str, subject_part: str):
    deadline = time.monotonic() + EMAIL_TIMEOUT_SECONDS
    while True:
        for delivery in list(smtp.deliveries):
            if recipient in delivery.recipients and subject_part in delivery.message["Subject"]:
                return delivery
        assert time.monotonic() < deadline, (
            f"no email to {recipient} about {subject_part!r}: "
            f"{[(item.recipients, item.message['Subject']) for item in smtp.deliveries]}"
        )
        time.sleep(0.5)


def test_deploy_schedule_and_run_to_completed(prefect_env, deployment, tmp_path):
    base = prefect_env["PREFECT_API_URL"]
    (schedule,) = deployment["schedules"]
    assert schedule["schedule"]["cron"] == "0 7 5 * *"
    assert schedule["schedule"]["timezone"] == "Europe/London"
    assert deployment["work_pool_name"] == "dcrs-process"
    # nothing of the machine that deployed is baked in: no path, no inbox
    assert deployment["pull_steps"] == [
        {"dcrs.prefect_runtime.set_working_directory_to_project": {}}
    ]
    assert deployment["parameters"] == {"warehouse": "warehouse/dcrs.duckdb"}

    # the worker runs away from the checkout; the inbox is its DCRS_INBOX
    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [str(PREFECT), "worker", "start", "--pool", "dcrs-process"],
        env={**prefect_env, "DCRS_INBOX": "data/sample"},
        cwd=tmp_path,
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
        state = wait_for_state(base, flow_run_id)
        assert state == "COMPLETED", (tmp_path / "worker.log").read_text()[-5000:]
        # the flow run's process sends its log in batches, the last after the run is
        # marked completed: wait for its summary before the worker (and it) stops
        records = wait_for_log(base, flow_run_id, "Published ", "quality checks 59, failed 4")
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


def test_setup_is_idempotent(prefect_env, automations, setup_env):
    base = prefect_env["PREFECT_API_URL"]
    assert "created the automation" in automations.stdout
    again = prefect_setup_command(setup_env)
    assert "updated the automation" in again.stdout, again.stdout

    names = sorted(item["name"] for item in api(base, "/automations/filter", {}))
    assert names == sorted(
        [
            prefect_setup.FAILED_AUTOMATION,
            prefect_setup.LATE_AUTOMATION,
            prefect_setup.FRESHNESS_CRASHED_AUTOMATION,
        ]
    )
    blocks = api(
        base,
        "/block_documents/filter",
        {"block_documents": {"name": {"any_": [prefect_setup.NOTIFICATION_BLOCK]}}},
    )
    assert [block["block_type"]["slug"] for block in blocks] == ["dcrs-smtp-email"]


def test_failed_run_waits_for_its_warehouse_and_emails(prefect_env, automations, smtp, tmp_path):
    """One run of the deployment, on a broken export: it waits while another holder has
    the warehouse's concurrency slot, fails, the manager's failure email goes out with the
    SMTP settings of a Secret block, the server's automation emails the engineer; then
    the worker stops on SIGTERM."""
    base = prefect_env["PREFECT_API_URL"]
    secret = {"host": smtp.host, "port": smtp.port, "from": "dcrs@example.org", "to": [MANAGER]}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; from prefect.blocks.system import Secret; "
            "Secret(value=json.loads(sys.argv[1])).save(sys.argv[2], overwrite=True)",
            json.dumps(secret),
            SECRET_BLOCK,
        ],
        env=prefect_env,
        check=True,
        timeout=120,
    )
    export = tmp_path / "kc-broken"
    export.mkdir()
    (export / "manifest.json").write_text("{not json", encoding="utf-8")
    warehouse = tmp_path / "warehouse" / "dcrs.duckdb"

    # another holder has the warehouse's slot
    limit = prefect_runtime.warehouse_limit_name(warehouse)
    api(base, "/v2/concurrency_limits/", {"name": limit, "limit": 1})
    lease = api(
        base,
        "/v2/concurrency_limits/increment-with-lease",
        {"names": [limit], "slots": 1, "mode": "concurrency", "lease_duration": 120},
    )

    worker, worker_log = start_worker(prefect_env, tmp_path)
    try:
        started = prefect(
            prefect_env,
            "deployment",
            "run",
            "dcrs-monthly/monthly",
            "--param",
            f"export_dir={export}",
            "--param",
            f"warehouse={warehouse}",
            "--param",
            f"smtp_secret_block={SECRET_BLOCK}",
        )
        flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout).group(1)

        # the run waits for the slot: running, saying so, not failing
        deadline = time.monotonic() + FLOW_RUN_TIMEOUT_SECONDS
        while True:
            logs = api(base, "/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run_id]}}})
            messages = [entry["message"] for entry in logs]
            if any("Another run holds" in message for message in messages):
                break
            state = api(base, f"/flow_runs/{flow_run_id}")["state"]["type"]
            assert state in ("SCHEDULED", "PENDING", "RUNNING"), (state, messages)
            assert time.monotonic() < deadline, worker_log.read_text()[-3000:]
            time.sleep(1)
        assert any(f"concurrency limit {limit}" in message for message in messages), messages
        time.sleep(3)
        assert api(base, f"/flow_runs/{flow_run_id}")["state"]["type"] == "RUNNING"
        assert not [item for item in smtp.deliveries if MANAGER in item.recipients]

        # the slot freed, the run goes on and fails on the export
        api(base, "/v2/concurrency_limits/decrement-with-lease", {"lease_id": lease["lease_id"]})
        assert wait_for_state(base, flow_run_id) == "FAILED"
        run_name = api(base, f"/flow_runs/{flow_run_id}")["name"]

        # the run's own failure alert, through the Secret's SMTP settings (the worker
        # has none in its environment)
        manager = wait_for_email(smtp, MANAGER, "")
        assert manager.mail_from == "dcrs@example.org"
        # the server's automation: the engineer
        engineer = wait_for_email(smtp, ENGINEER, f"run {run_name} Failed")
        body = engineer.message.get_body(("plain",)).get_content()
        assert "dcrs-monthly/monthly" in body
        assert flow_run_id in body
        assert "manifest.json" in body
        assert not [
            item
            for item in smtp.deliveries
            if ENGINEER in item.recipients and MANAGER in item.recipients
        ]

        # SIGTERM (systemd's and Docker's stop signal) stops the worker, cleanly
        before = len(worker_log.read_text())
        stopped_at = time.monotonic()
        os.kill(worker.pid, signal.SIGTERM)
        status = worker.wait(timeout=15)
        assert time.monotonic() - stopped_at < 10
    finally:
        stop(worker)
    assert status == 0
    after = worker_log.read_text()[before:]
    assert "stopped!" in after, after
    assert "Traceback" not in after, after


def test_late_run_emails_with_no_worker(prefect_env, deployment, automations, smtp):
    """A run due in the past that no worker picks up: the server marks it late and its
    automation emails the engineer (no worker runs in this test)."""
    base = prefect_env["PREFECT_API_URL"]
    run = api(
        base,
        f"/deployments/{deployment['id']}/create_flow_run",
        {
            "state": {
                "type": "SCHEDULED",
                "state_details": {"scheduled_time": "2026-01-05T07:00:00Z"},
            }
        },
    )
    try:
        late = wait_for_email(smtp, ENGINEER, f"run {run['name']} is late")
        body = late.message.get_body(("plain",)).get_content()
        assert "has not started" in body
        assert "dcrs-process" in body
        assert api(base, f"/flow_runs/{run['id']}")["state"]["name"] == "Late"
    finally:
        api(
            base,
            f"/flow_runs/{run['id']}/set_state",
            {"state": {"type": "CANCELLED"}, "force": True},
        )


def test_freshness_runs_late_or_crashed_email(prefect_env, deployment, automations, smtp):
    """The daily freshness check is watched too: with no worker, its runs go late and no
    late extract can be found, so the engineer is emailed; a crashed check likewise.
    A failed check is not (it fails every day an extract is late, emailed once)."""
    base = prefect_env["PREFECT_API_URL"]
    freshness = api(base, "/deployments/name/dcrs-freshness/freshness")
    late = api(
        base,
        f"/deployments/{freshness['id']}/create_flow_run",
        {
            "state": {
                "type": "SCHEDULED",
                "state_details": {"scheduled_time": "2026-01-06T08:00:00Z"},
            }
        },
    )
    crashed = api(base, f"/deployments/{freshness['id']}/create_flow_run", {})
    failed = api(base, f"/deployments/{freshness['id']}/create_flow_run", {})
    try:
        for run, state in ((crashed, "CRASHED"), (failed, "FAILED")):
            api(
                base,
                f"/flow_runs/{run['id']}/set_state",
                {"state": {"type": state, "message": "the check stopped"}, "force": True},
            )
        email = wait_for_email(smtp, ENGINEER, f"run {late['name']} is late")
        assert "dcrs-freshness/freshness" in email.message.get_body(("plain",)).get_content()
        email = wait_for_email(smtp, ENGINEER, f"run {crashed['name']} Crashed")
        body = email.message.get_body(("plain",)).get_content()
        assert "a late extract may not have been emailed about" in body
        assert not [
            delivery
            for delivery in smtp.deliveries
            if f"run {failed['name']} " in delivery.message["Subject"]
        ]
    finally:
        api(
            base,
            f"/flow_runs/{late['id']}/set_state",
            {"state": {"type": "CANCELLED"}, "force": True},
        )


def test_crashed_run_emails(prefect_env, deployment, automations, smtp):
    """A run whose process died ends Crashed (as the engine reports it): the engineer is
    emailed too."""
    base = prefect_env["PREFECT_API_URL"]
    run = api(base, f"/deployments/{deployment['id']}/create_flow_run", {})
    api(
        base,
        f"/flow_runs/{run['id']}/set_state",
        {"state": {"type": "CRASHED", "message": "the process was killed"}, "force": True},
    )
    crashed = wait_for_email(smtp, ENGINEER, f"run {run['name']} Crashed")
    assert "the process was killed" in crashed.message.get_body(("plain",)).get_content()
