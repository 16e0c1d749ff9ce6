"""`dcrs check-freshness`: each service of a warehouse checked on its own, a late one
emailed once per due date through the outbox, a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import DCRS, ROOT, copy_warehouse
from smtp_server import free_port, running_smtp_server

from dcrs import freshness, release

WESTMINSTER = "Westminster Health Trainer Service"


@pytest.mark.fast
@pytest.mark.parametrize(
    ("latest", "next_month", "due"),
    [
        ("2010-01-31", "2010-02-01", "2010-03-07"),  # the example
        ("2012-01-31", "2012-02-01", "2012-03-07"),  # a leap year's February
        ("2010-01-15", "2010-02-01", "2010-03-07"),  # an extract before the month's end
        ("2010-08-31", "2010-09-01", "2010-10-07"),
        ("2010-12-31", "2011-01-01", "2011-02-07"),  # into the next year
    ],
)
def test_the_next_extract_is_due_a_week_after_the_following_months_end(latest, next_month, due):
    assert freshness.next_due(dt.date.fromisoformat(latest), freshness.DEFAULT_DAYS) == (
        dt.date.fromisoformat(next_month),
        dt.date.fromisoformat(due),
    )


@pytest.mark.fast
def test_a_january_extract_is_late_on_10_march() -> None:
    _, due = freshness.next_due(dt.date(2010, 1, 31), freshness.freshness_days({}))
    assert dt.date(2010, 3, 7) <= due < dt.date(2010, 3, 10)


@pytest.mark.fast
def test_the_days_are_a_setting() -> None:
    days = freshness.freshness_days({"DCRS_FRESHNESS_DAYS": "0"})
    assert freshness.next_due(dt.date(2010, 1, 31), days)[1] == dt.date(2010, 2, 28)
    with pytest.raises(freshness.FreshnessConfigError, match="whole number of days"):
        freshness.freshness_days({"DCRS_FRESHNESS_DAYS": "a week"})


@pytest.mark.fast
def test_the_daily_deployment_runs_the_same_check() -> None:
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    (deployment,) = [entry for entry in deployments if entry["name"] == "freshness"]
    assert deployment["entrypoint"] == "flows/freshness.py:freshness_check"
    (schedule,) = deployment["schedules"]
    assert schedule["timezone"] == "Europe/London"
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month, weekday) == ("*", "*", "*")  # every day
    assert "freshness.check(" in (ROOT / "flows" / "freshness.py").read_text()


@pytest.fixture
def two_services(sample_warehouse: Path, tmp_path: Path) -> Path:
    """A copy of the sample's warehouse (KC, extract 31 August 2010) with a second
    service whose latest extract is a month newer (30 September 2010)."""
    warehouse = copy_warehouse(sample_warehouse, tmp_path)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into history.loaded_extracts by name "
            "select 'WM' as service_code, ? as service_name, date '2010-09-30' as extract_date",
            [WESTMINSTER],
        )
    return warehouse


def check_freshness(warehouse: Path, today: str, port: int) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DCRS_")}
    env |= {
        "DCRS_SMTP_HOST": "127.0.0.1",
        "DCRS_SMTP_PORT": str(port),
        "DCRS_ALERT_FROM": "dcrs-pipeline@example.org",
        "DCRS_ALERT_TO": "everyone@example.org",
        "DCRS_ALERT_TO_KC": "kc.manager@example.org",
        "DCRS_ENGINEER_TO": "data.engineer@example.org",
    }
    return subprocess.run(
        [str(DCRS), "check-freshness", "--warehouse", str(warehouse), "--today", today],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


def service_lines(output: str) -> dict[str, str]:
    return {
        line.split(":")[0]: line for line in output.splitlines() if line.startswith(("KC:", "WM:"))
    }


def test_a_fresh_service_never_hides_a_late_one(two_services: Path) -> None:
    with running_smtp_server() as server:
        # KC's September extract is due by 7 October 2010
        on_time = check_freshness(two_services, "2010-10-07", server.port)
        assert on_time.returncode == 0, on_time.stdout + on_time.stderr
        lines = service_lines(on_time.stdout)
        assert lines["KC"].startswith(
            "KC: latest extract 31 August 2010; on time: the extract for September 2010 is "
            "due by 7 October 2010"
        )
        assert lines["WM"].startswith("WM: latest extract 30 September 2010; on time")
        assert server.messages == []

        late = check_freshness(two_services, "8/10/2010", server.port)
        assert late.returncode == 9, late.stdout + late.stderr
        lines = service_lines(late.stdout)
        assert len(lines) == 2
        assert lines["KC"].startswith(
            "KC: latest extract 31 August 2010; LATE: the extract for September 2010 was "
            "due by 7 October 2010"
        )
        assert "on time" in lines["WM"]
        assert "1 of 2 service(s) late: KC" in late.stderr

        by_recipient = {tuple(item.recipients): item.message for item in server.deliveries}
        assert set(by_recipient) == {("kc.manager@example.org",), ("data.engineer@example.org",)}
        for message in by_recipient.values():
            assert message["Subject"] == (
                "DCRS extract for September 2010 is late — "
                "Kensington and Chelsea Health Trainer Service (KC)"
            )
            text = message.get_body(preferencelist=("plain",)).get_content()
            assert "the latest is the extract of 31 August 2010" in text
            assert "the next was due by 7 October 2010 (1 day ago)" in text
        manager = by_recipient[("kc.manager@example.org",)]
        engineer = by_recipient[("data.engineer@example.org",)]
        assert "dcrs " not in manager.get_body(preferencelist=("plain",)).get_content()
        assert f"--warehouse {two_services}" in engineer.get_body().get_content()

        # the next day: still late (exit 9), but the same lateness is not emailed again
        again = check_freshness(two_services, "2010-10-09", server.port)
        assert again.returncode == 9, again.stdout + again.stderr
        assert (
            "Late alert for KC already sent on 2010-10-08 for this due date: not sent again"
        ) in again.stdout
        assert len(server.messages) == 2


def test_an_undelivered_late_alert_waits_in_the_outbox(two_services: Path) -> None:
    closed = check_freshness(two_services, "2010-11-08", free_port())
    assert closed.returncode == 4, closed.stdout + closed.stderr
    assert "could not be delivered" in closed.stderr
    # both services late now; their four emails wait
    assert len(list(release.outbox_folder(two_services).glob("*.eml"))) == 4
    with running_smtp_server() as server:
        later = check_freshness(two_services, "2010-11-09", server.port)
        assert later.returncode == 9, later.stdout + later.stderr
        assert len(server.messages) == 4
    assert list(release.outbox_folder(two_services).glob("*.eml")) == []


def test_no_such_warehouse_is_a_one_line_error(tmp_path: Path) -> None:
    result = check_freshness(tmp_path / "none.duckdb", "2010-10-08", free_port())
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"{tmp_path / 'none.duckdb'}: no such warehouse (give --warehouse)"
    ]
