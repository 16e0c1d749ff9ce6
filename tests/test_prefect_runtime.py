"""The Prefect pieces that need no Prefect server: the SMTP settings a Secret's value
makes, the inbox with no default, the warehouse's concurrency limit's name, the
notification block's settings, and the block sending through a real SMTP server on
loopback. The server, the automations and the worker are in test_prefect_deployment.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from smtp_server import PasswordAuthenticator, running_smtp_server

from dcrs import alerts, prefect_runtime, prefect_setup

pytestmark = pytest.mark.fast

WORKER_ENVIRONMENT = {
    "PATH": "/usr/bin",
    "DCRS_SMTP_HOST": "old.example.org",
    "DCRS_SMTP_USER": "old-user",
    "DCRS_SMTP_PASSWORD": "old-password",
    "DCRS_ALERT_TO": "old@example.org",
}


def test_a_secret_value_becomes_the_smtp_settings():
    secret = {
        "host": "smtp.nhs.example",
        "port": 587,
        "user": "dcrs",
        "password": "s3cret",
        "from": "dcrs@nhs.example",
        "to": ["manager@nhs.example", "lead@nhs.example"],
        "starttls": True,
    }
    environment = prefect_runtime.smtp_environment(json.dumps(secret), WORKER_ENVIRONMENT)
    settings = alerts.SmtpSettings.from_environment(environment)
    assert settings == alerts.SmtpSettings(
        host="smtp.nhs.example",
        port=587,
        sender="dcrs@nhs.example",
        recipients=["manager@nhs.example", "lead@nhs.example"],
        user="dcrs",
        password="s3cret",
        starttls=True,
    )
    # the other settings of the environment stay
    assert environment["PATH"] == "/usr/bin"


def test_a_secret_is_the_whole_smtp_configuration():
    """A setting the Secret leaves out is not taken from the environment: no login of
    another server is sent to the Secret's server."""
    environment = prefect_runtime.smtp_environment(
        {"host": "relay.nhs.example", "from": "dcrs@nhs.example", "to": "m@nhs.example"},
        WORKER_ENVIRONMENT,
    )
    settings = alerts.SmtpSettings.from_environment(environment)
    assert settings is not None
    assert (settings.host, settings.user, settings.password) == ("relay.nhs.example", None, None)
    assert settings.recipients == ["m@nhs.example"]


def test_a_secret_may_name_other_dcrs_settings():
    environment = prefect_runtime.smtp_environment(
        {"host": "relay", "DCRS_ENGINEER_TO": "engineer@nhs.example"}, {}
    )
    assert environment == {"DCRS_SMTP_HOST": "relay", "DCRS_ENGINEER_TO": "engineer@nhs.example"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{host:", "Secret block 'smtp' does not hold JSON: Expecting property name"),
        ('["smtp.example"]', "Secret block 'smtp' must hold a JSON object with the keys host,"),
        (
            {"hostname": "x", "pasword": "y"},
            "Secret block 'smtp' holds unknown keys hostname, pasword",
        ),
    ],
)
def test_an_unusable_secret_is_named(value, message):
    with pytest.raises(prefect_runtime.PrefectSettingsError) as raised:
        prefect_runtime.smtp_environment(value, {}, block="Secret block 'smtp'")
    assert str(raised.value).startswith(message)


def test_the_secret_block_is_the_parameter_else_the_environment():
    environ = {"DCRS_SMTP_SECRET_BLOCK": "from-environment"}
    assert prefect_runtime.secret_block_name("from-parameter", environ) == "from-parameter"
    assert prefect_runtime.secret_block_name(None, environ) == "from-environment"
    assert prefect_runtime.secret_block_name(None, {}) is None
    assert prefect_runtime.secret_block_name(" ", {"DCRS_SMTP_SECRET_BLOCK": ""}) is None


def test_the_environment_is_put_back_after_the_run(monkeypatch):
    monkeypatch.setenv("DCRS_SMTP_HOST", "env.example.org")
    monkeypatch.setenv("DCRS_SMTP_USER", "env-user")
    environment = prefect_runtime.smtp_environment({"host": "secret.example.org"}, {})
    with prefect_runtime.environment_applied(environment):
        import os

        assert os.environ["DCRS_SMTP_HOST"] == "secret.example.org"
        assert "DCRS_SMTP_USER" not in os.environ
    assert os.environ["DCRS_SMTP_HOST"] == "env.example.org"
    assert os.environ["DCRS_SMTP_USER"] == "env-user"


def test_the_inbox_has_no_default():
    assert prefect_runtime.inbox_folder(Path("exports"), {}) == Path("exports")
    assert prefect_runtime.inbox_folder(None, {"DCRS_INBOX": "/srv/dcrs/exports"}) == Path(
        "/srv/dcrs/exports"
    )
    with pytest.raises(prefect_runtime.PrefectSettingsError, match="set DCRS_INBOX"):
        prefect_runtime.inbox_folder(None, {})


def test_each_warehouse_has_its_own_limit(tmp_path):
    first = prefect_runtime.warehouse_limit_name(tmp_path / "a" / "dcrs.duckdb")
    second = prefect_runtime.warehouse_limit_name(tmp_path / "b" / "dcrs.duckdb")
    assert first != second
    assert first.startswith("dcrs-warehouse-dcrs.duckdb-")
    assert "/" not in first
    # the same file by another path is the same warehouse
    (tmp_path / "a").mkdir()
    assert prefect_runtime.warehouse_limit_name(tmp_path / "a" / ".." / "a" / "dcrs.duckdb") == (
        first
    )


@pytest.mark.parametrize(
    ("settings", "security"),
    [
        ({"DCRS_SMTP_PORT": "465"}, "ssl"),
        ({"DCRS_SMTP_STARTTLS": "true"}, "starttls"),
        ({"DCRS_SMTP_USER": "u", "DCRS_SMTP_PASSWORD": "p"}, "starttls"),
        ({}, "none"),
        ({"DCRS_SMTP_STARTTLS": "false", "DCRS_SMTP_USER": "u", "DCRS_SMTP_PASSWORD": "p"}, "none"),
    ],
)
def test_the_notification_block_uses_the_runs_smtp_security(settings, security):
    environment = {"DCRS_SMTP_HOST": "smtp.example.org", "DCRS_ALERT_FROM": "d@example.org"}
    fields = prefect_setup.block_fields({**environment, **settings}, ["e@example.org"])
    assert fields["security"] == security
    assert fields["to_addresses"] == ["e@example.org"]


def test_the_notification_block_needs_an_address_and_a_server():
    with pytest.raises(prefect_setup.SetupError, match="set DCRS_ENGINEER_TO"):
        prefect_setup.block_fields({"DCRS_SMTP_HOST": "h", "DCRS_ALERT_FROM": "d@x.org"}, [])
    with pytest.raises(prefect_setup.SetupError, match="no SMTP server"):
        prefect_setup.block_fields({}, ["e@example.org"])


def test_the_block_emails_through_smtp_with_a_login():
    from dcrs.prefect_blocks import SmtpEmail

    authenticator = PasswordAuthenticator(user="dcrs", password="s3cret")
    with running_smtp_server(authenticator=authenticator) as server:
        block = SmtpEmail(
            smtp_host=server.host,
            smtp_port=server.port,
            security="none",
            username="dcrs",
            password="s3cret",
            from_address="dcrs@example.org",
            to_addresses=["engineer@example.org", "lead@example.org"],
        )
        with block.raise_on_failure():
            block.notify("The run failed.", subject="DCRS pipeline: run x Failed")
    # Apprise sends each recipient their own copy
    assert sorted(item.recipients[0] for item in server.deliveries) == [
        "engineer@example.org",
        "lead@example.org",
    ]
    for delivery in server.deliveries:
        assert delivery.login == "dcrs"
        assert delivery.mail_from == "dcrs@example.org"
        assert delivery.message["Subject"] == "DCRS pipeline: run x Failed"
        assert "The run failed." in delivery.message.get_body(("plain",)).get_content()


def test_setup_without_an_address_is_a_one_line_error(monkeypatch, capsys):
    for name, value in {
        "DCRS_SMTP_HOST": "smtp.example.org",
        "DCRS_ALERT_FROM": "dcrs@example.org",
        "DCRS_ENGINEER_TO": "",
        "DCRS_SMTP_SECRET_BLOCK": "",
    }.items():
        monkeypatch.setenv(name, value)
    assert prefect_setup.main([]) == 2
    error = capsys.readouterr().err
    assert error == (
        "error: no address to email: give --to, or set DCRS_ENGINEER_TO (the data "
        "engineer's address, comma-separated for several)\n"
    )
