"""`dcrs run` end to end with alerts: a real SMTP server on loopback (aiosmtpd), the real
pipeline in a fresh process, and the message read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import DCRS, ROOT, SAMPLE_EXPORT, connect, outputs_of
from exports import read_rows, write_rows
from smtp_server import free_port, running_smtp_server

from dcrs import outbox
from dcrs.pipeline import write_quality_alert
from dcrs.summary import read_summary

FOUR_FIELDS = ("Disability", "Signposting", "Primary health issue", "BMI")


REPORT_URL = "https://intranet.example.org/dcrs"


def run_with_smtp(
    export: Path, warehouse: Path, port: int, **settings: str
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DCRS_SMTP_HOST": "127.0.0.1",
        "DCRS_SMTP_PORT": str(port),
        "DCRS_ALERT_FROM": "dcrs-pipeline@example.org",
        "DCRS_ALERT_TO": "service.manager@example.org",
        **settings,
    }
    return subprocess.run(
        [str(DCRS), "run", "--export", str(export), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def september_export(tmp_path: Path) -> Path:
    """The sample a month later: the same clients, ten more with disability recorded."""
    export = tmp_path / "kc-2010-09-30"
    shutil.copytree(SAMPLE_EXPORT, export)
    clients = read_rows(export, "clients.csv")
    blanks = [row for row in clients if not row["disability"]][:10]
    for row in blanks:
        row["disability"] = "Not disabled"
    write_rows(export, "clients.csv", clients)
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["extract_date"] = "2010-09-30"
    (export / "manifest.json").write_text(json.dumps(manifest))
    return export


def test_one_alert_names_exactly_the_four_fields_then_last_month(tmp_path):
    warehouse = tmp_path / "warehouse" / "dcrs.duckdb"
    settings = {"DCRS_ALERT_TO_KC": "kc.manager@example.org", "DCRS_REPORT_URL": REPORT_URL}
    with running_smtp_server() as server:
        august = run_with_smtp(SAMPLE_EXPORT, warehouse, server.port, **settings)
        assert august.returncode == 0, august.stdout + august.stderr
        assert "alert sent to kc.manager@example.org" in august.stdout
        assert len(server.messages) == 1
        (message,) = server.messages
        text = body(message)
        # the service's own manager, not DCRS_ALERT_TO
        assert server.deliveries[0].recipients == ["kc.manager@example.org"]
        assert message["To"] == "kc.manager@example.org"
        assert message["Subject"] == (
            "DCRS data capture: 4 fields below standard — "
            "Kensington and Chelsea Health Trainer Service (KC), extract 31 August 2010"
        )
        # the run's own report (the manager's, not the published one), and its link
        august_report = (outputs_of(warehouse) / "report.html").read_bytes()
        (attachment,) = message.iter_attachments()
        assert attachment.get_filename() == "report.html"
        assert attachment.get_content().encode() == august_report
        assert f"{REPORT_URL}/report.html#data-capture" in text
        assert "Disability was recorded for 67 of 116 clients (57.8%); the standard is 95%" in text
        assert "Signposting was recorded for 42 of 116 clients (36.2%)" in text
        assert "Primary health issue was recorded for 101 of 111 eligible clients (91.0%)" in text
        assert "BMI was recorded for 92 of 111 eligible clients (82.9%)" in text
        named = [
            line.split(" was recorded")[0]
            for line in text.splitlines()
            if " was recorded for " in line
        ]
        assert tuple(named) == FOUR_FIELDS
        assert "Last month: no earlier extract." in text

        september = run_with_smtp(september_export(tmp_path), warehouse, server.port, **settings)
        assert september.returncode == 0, september.stdout + september.stderr
        assert len(server.messages) == 2
        text = body(server.messages[1])
        assert server.messages[1]["Subject"].endswith("(KC), extract 30 September 2010")
        (attachment,) = server.messages[1].iter_attachments()
        september_report = (outputs_of(warehouse) / "report.html").read_bytes()
        assert attachment.get_content().encode() == september_report != august_report
        assert "Disability was recorded for 77 of 116 clients (66.4%)" in text
        assert "Last month: 57.8%" in text

    with connect(warehouse) as con:
        history = con.execute(
            "select extract_date::varchar, round(observed_value, 1) "
            "from marts.data_quality_results where field = 'disability' "
            "and suite = 'data_capture' order by extract_date"
        ).fetchall()
        capture = con.execute(
            "select extract_date::varchar, round(percent, 1) from marts.data_capture "
            "where field = 'disability' order by extract_date"
        ).fetchall()
    assert history == [("2010-08-31", 57.8), ("2010-09-30", 66.4)]
    # the marts keep both extracts
    assert capture == [("2010-08-31", 57.8), ("2010-09-30", 66.4)]
    assert (outputs_of(warehouse) / "data_docs" / "index.html").exists()


def test_untrusted_export_tells_the_engineer_what_to_do_and_the_manager_what_it_means(
    tmp_path, export_copy
):
    (export_copy / "goals.csv").unlink()
    warehouse = tmp_path / "dcrs.duckdb"
    with running_smtp_server() as server:
        result = run_with_smtp(
            export_copy, warehouse, server.port, DCRS_ENGINEER_TO="data.engineer@example.org"
        )
        assert result.returncode == 2
        assert len(server.messages) == 2
        to_engineer, to_manager = server.deliveries
    assert to_engineer.recipients == ["data.engineer@example.org"]
    service_and_extract = (
        "Kensington and Chelsea Health Trainer Service (KC), extract 31 August 2010"
    )
    assert to_engineer.message["Subject"] == (
        f"DCRS run failed, nothing published — {service_and_extract}"
    )
    text = body(to_engineer.message)
    assert "goals.csv" in text
    assert "required file is missing" in text
    assert "nothing was published" in text.lower()
    assert f"dcrs run --export {export_copy} --warehouse {warehouse}" in text
    assert f"the log file {warehouse}.log" in text

    assert to_manager.recipients == ["service.manager@example.org"]
    assert (
        to_manager.message["Subject"] == f"DCRS extract not published yet — {service_and_extract}"
    )
    text = body(to_manager.message)
    assert "No extract of the service has been published yet." in text
    assert "dcrs " not in text
    assert str(tmp_path) not in text


def test_undeliverable_alert_is_reported_not_dropped(tmp_path):
    warehouse = tmp_path / "dcrs.duckdb"
    result = run_with_smtp(SAMPLE_EXPORT, warehouse, free_port())
    assert result.returncode == 4, result.stdout + result.stderr
    assert "could not be delivered" in result.stderr
    assert result.stdout.count("attempt") >= 3 or result.stderr.count("attempt") >= 3
    assert warehouse.exists(), "the warehouse is published even when the alert fails"


# one run: that a missing DCRS_ALERT_TO turns alerts off too is tests/test_alerts.py's
@pytest.mark.parametrize("variable", ["DCRS_SMTP_HOST"])
def test_without_smtp_the_run_says_alerts_are_off_once(sample_warehouse, variable, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DCRS_")}
    env.update({"DCRS_SMTP_HOST": "127.0.0.1", "DCRS_ALERT_TO": "a@example.org"})
    env.pop(variable)
    result = subprocess.run(
        [str(DCRS), "run", "--warehouse", str(tmp_path / "dcrs.duckdb")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).lower().count("alerts are off") == 1


@pytest.mark.parametrize("switch", [None, "false"])
def test_a_month_where_every_check_passes_sends_an_email_unless_turned_off(
    sample_warehouse, tmp_path, monkeypatch, switch
):
    """The run's alert step (pipeline.write_quality_alert, then the outbox) on the
    sample's summary with every check passing: one email with the report attached, on by
    default, so that a month without one means something went wrong."""
    summary = read_summary(sample_warehouse, "KC", "2010-08-31", SAMPLE_EXPORT)
    for result in summary.quality:
        result.passed = True
    report = outputs_of(sample_warehouse) / "report.html"
    folder = tmp_path / "outbox"
    with running_smtp_server() as server:
        monkeypatch.setenv("DCRS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("DCRS_SMTP_PORT", str(server.port))
        monkeypatch.setenv("DCRS_ALERT_FROM", "dcrs-pipeline@example.org")
        monkeypatch.setenv("DCRS_ALERT_TO", "service.manager@example.org")
        if switch is not None:
            monkeypatch.setenv("DCRS_ALERT_ALL_PASSED", switch)
        said = write_quality_alert(summary, folder, report)
        outbox.deliver(folder, log=lambda line: None)
    if switch == "false":
        assert said == "no alert: every check passed (DCRS_ALERT_ALL_PASSED is off)"
        assert server.messages == []
        return
    (message,) = server.messages
    assert message["Subject"] == (
        f"DCRS: all {len(summary.quality)} checks passed — "
        "Kensington and Chelsea Health Trainer Service (KC), extract 31 August 2010"
    )
    (attachment,) = message.iter_attachments()
    assert attachment.get_content().encode() == report.read_bytes()
