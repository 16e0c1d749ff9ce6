"""Alert emails: composed from check results, sent to a real SMTP server on loopback."""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import ROOT
from smtp_server import (
    PasswordAuthenticator,
    SmtpServer,
    free_port,
    running_smtp_server,
    self_signed_certificate,
)

from dcrs import alerts
from dcrs.alerts import (
    AlertConfigError,
    AlertDeliveryError,
    PlaintextLoginRefused,
    SmtpSettings,
    compose_failure_alert,
    compose_quality_alert,
    send,
)
from dcrs.summary import CheckResult

pytestmark = pytest.mark.fast

# the fields' labels, as the run reads them with the results (seeds/data_capture_fields.csv)
with (ROOT / "seeds" / "data_capture_fields.csv").open() as seed:
    LABELS = {row["field"]: row["label"] for row in csv.DictReader(seed)}

SERVICE_NAME = "Kensington and Chelsea Health Trainer Service"
EXPORT_DIR = "/data/kc-2010-08-31"
SENDER = "dcrs-alerts@example.org"
RECIPIENTS = ["manager@example.org", "data.lead@example.org"]


def capture(
    field_name: str, recorded: int, total: int, population: str, threshold: float = 95.0
) -> CheckResult:
    """A data-capture check result as the quality step reports it."""
    percent = 100 * recorded / total
    return CheckResult(
        suite="data_capture",
        check=f"capture:{field_name}",
        field=field_name,
        description=f"{field_name} is recorded for at least {threshold:g}% of {population}.",
        observed_value=percent,
        threshold=threshold,
        passed=percent >= threshold,
        recorded=recorded,
        total=total,
        population=population,
        label=LABELS.get(field_name),  # a field with no seed row has no label
    )


def sample_results() -> list[CheckResult]:
    """The bundled sample: four capture fields below 95%, the rest above it."""
    return [
        capture("health_trainer_id", 116, 116, "all clients"),
        capture("gender", 116, 116, "all clients"),
        capture("disability", 67, 116, "all clients"),
        capture("referral_source_other", 5, 5, "clients referred by Other"),
        capture("signposted_to", 42, 116, "all clients"),
        capture("primary_health_issue", 101, 111, "eligible clients"),
        capture("bmi", 92, 111, "eligible clients"),
        capture("goal_set_date", 256, 256, "all goals"),
    ]


def sample_alert(previous_percent: dict[str, float] | None = None) -> EmailMessage:
    message = compose_quality_alert(
        service_name=SERVICE_NAME,
        service_code="KC",
        extract_date="2010-08-31",
        export_dir=EXPORT_DIR,
        failures=sample_results(),
        previous_percent=previous_percent or {},
    )
    assert message is not None
    return message


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def settings_for(server: SmtpServer, **changes: object) -> SmtpSettings:
    settings = SmtpSettings(
        host=server.host, port=server.port, sender=SENDER, recipients=list(RECIPIENTS)
    )
    for name, value in changes.items():
        setattr(settings, name, value)
    return settings


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


# --- the quality alert ----------------------------------------------------------------


def test_quality_alert_is_one_email_naming_exactly_the_failing_fields(
    smtp_server: SmtpServer,
) -> None:
    log: list[str] = []
    send(
        sample_alert({"disability": 55.0, "bmi": 85.1}),
        settings_for(smtp_server),
        backoff_seconds=0,
        log=log.append,
    )

    assert log == []
    assert len(smtp_server.deliveries) == 1
    delivery = smtp_server.deliveries[0]
    assert delivery.mail_from == SENDER
    assert delivery.recipients == RECIPIENTS
    received = delivery.message
    assert received["From"] == SENDER
    assert received["To"] == ", ".join(RECIPIENTS)
    assert received["Subject"] == (
        "DCRS data capture: 4 fields below standard — "
        "Kensington and Chelsea Health Trainer Service (KC), extract 31 August 2010"
    )
    text = plain_text(received)

    named = [
        label
        for label in LABELS.values()
        if re.search(rf"^{re.escape(label)} was recorded for ", text, re.MULTILINE)
    ]
    assert named == ["Disability", "Signposting", "Primary health issue", "BMI"]
    assert text.count("the standard is 95%") == 4
    for figures in (
        "Disability was recorded for 67 of 116 clients (57.8%)",
        "Signposting was recorded for 42 of 116 clients (36.2%)",
        "Primary health issue was recorded for 101 of 111 eligible clients (91.0%)",
        "BMI was recorded for 92 of 111 eligible clients (82.9%)",
    ):
        assert figures in text

    assert (
        "Disability was recorded for 67 of 116 clients (57.8%); the standard is 95%, so it "
        "is 37.2 points short (44 more clients would need it recorded). "
        "Last month: 55.0% (up 2.8 points)."
    ) in text
    assert "BMI was recorded for 92 of 111 eligible clients (82.9%); the standard is 95%, " in text
    assert "Last month: 85.1% (down 2.2 points)." in text
    assert text.count("Last month: no earlier extract.") == 2

    what_to_do = text[text.index("What to do") :]
    assert (
        "Disability: Ask every client the disability question at registration and record "
        "'Not disabled' as well as 'Disabled'."
    ) in what_to_do
    assert (
        "Signposting: Record a signposting outcome for every client, including 'Not required'."
    ) in what_to_do
    assert "BMI: Record BMI at the initial assessment of every eligible client." in what_to_do
    assert (
        "Primary health issue: Record the primary health issue at the initial assessment."
    ) in what_to_do
    # no table name or tool the manager cannot open without a link: the figures in words
    assert "marts." not in text
    assert "Data Docs" not in text
    assert "each percentage is the share of the service's records" in text
    assert "Ask the data engineer for this extract's report (report.html)" in text

    html_body = received.get_body(preferencelist=("html",))
    assert html_body is not None
    assert "<h3>What to do</h3>" in html_body.get_content()


def test_quality_alert_lists_the_fields_in_the_order_given() -> None:
    text = plain_text(sample_alert())
    positions = [
        text.index(f"{label} was recorded")
        for label in ("Disability", "Signposting", "Primary health issue", "BMI")
    ]
    assert positions == sorted(positions)


def test_quality_alert_is_none_when_every_check_passed() -> None:
    passing = [result for result in sample_results() if result.passed]
    assert passing
    for failures in (passing, []):
        message = compose_quality_alert(
            SERVICE_NAME, "KC", "2010-08-31", EXPORT_DIR, failures, previous_percent={}
        )
        assert message is None


def test_quality_alert_lists_failed_validity_and_structure_checks() -> None:
    validity = CheckResult(
        suite="validity",
        check="validity:bmi_range",
        field="bmi",
        description="BMI is between 10 and 80.",
        observed_value=3,
        threshold=None,
        passed=False,
    )
    structure = CheckResult(
        suite="structure",
        check="structure:one_row_per_goal",
        field=None,
        description="Each goal appears once",
        observed_value=1,
        threshold=None,
        passed=False,
    )
    only_other = compose_quality_alert(
        SERVICE_NAME, "KC", "2010-08-31", EXPORT_DIR, [validity, structure], {}
    )
    assert only_other is not None
    assert only_other["Subject"].startswith("DCRS data quality: 2 other checks failed — ")
    text = plain_text(only_other)
    assert "- BMI is between 10 and 80: 3 rows not as expected." in text
    assert "- Each goal appears once: 1 row not as expected." in text

    both = compose_quality_alert(
        SERVICE_NAME, "KC", "2010-08-31", EXPORT_DIR, [*sample_results(), validity], {}
    )
    assert both is not None
    assert both["Subject"].startswith(
        "DCRS data capture: 4 fields below standard, 1 other check failed — "
    )
    text = plain_text(both)
    assert text.index("BMI was recorded") < text.index("Other checks that failed")
    assert text.index("Other checks that failed") < text.index("What to do")


def test_quality_alert_wording_for_goals_and_other_referrals() -> None:
    message = compose_quality_alert(
        SERVICE_NAME,
        "KC",
        "2010-08-31",
        EXPORT_DIR,
        [
            capture("referral_source_other", 3, 5, "clients referred by Other"),
            capture("goal_set_date", 240, 256, "all goals", threshold=97.5),
            capture("favourite_colour", 1, 116, "all clients"),
        ],
        {"goal_set_date": 93.75},
    )
    assert message is not None
    text = plain_text(message)
    assert (
        "Details of an 'Other' referral was recorded for 3 of 5 clients referred by "
        '"Other" (60.0%); the standard is 95%, so it is 35.0 points short '
        "(2 more clients would need it recorded)."
    ) in text
    assert (
        "Goal set date was recorded for 240 of 256 goals (93.8%); the standard is 97.5%, so "
        "it is 3.8 points short (10 more goals would need it recorded). "
        "Last month: 93.8% (no change)."
    ) in text
    assert "Favourite colour was recorded for 1 of 116 clients" in text
    assert "Favourite colour: Make sure favourite colour is recorded for all clients." in text


def test_more_needed_uses_exact_arithmetic() -> None:
    # 95% of 116 is 110.2, so 111 are needed; 95% of 100 is exactly 95 (not 95.000...01).
    assert alerts.more_needed(95, 67, 116) == 44
    assert alerts.more_needed(95, 90, 100) == 5
    assert alerts.more_needed(95.5, 0, 200) == 191
    assert alerts.more_needed(95, 116, 116) == 0


# --- the failure alert ----------------------------------------------------------------


def test_failure_alert_says_nothing_was_published_and_names_the_file(
    smtp_server: SmtpServer,
) -> None:
    error = (
        "Export cannot be trusted: /data/kc/goals.csv: holds 255 data rows but manifest.json "
        "says 256: the export is truncated or altered"
    )
    message = compose_failure_alert(
        export_dir="/data/kc",
        error=error,
        warehouse="/srv/dcrs/warehouse/dcrs.duckdb",
        extract=alerts.Extract(SERVICE_NAME, "KC", "2010-08-31"),
        log_file="/srv/dcrs/warehouse/dcrs.duckdb.log",
    )
    send(message, settings_for(smtp_server), backoff_seconds=0, log=lambda line: None)

    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received["Subject"] == (
        "DCRS run failed, nothing published — "
        "Kensington and Chelsea Health Trainer Service (KC), extract 31 August 2010"
    )
    text = plain_text(received)
    assert "nothing was published" in text
    assert error in text
    assert "/data/kc/goals.csv" in text
    assert "The published warehouse was left as it was: /srv/dcrs/warehouse/dcrs.duckdb." in text
    assert "download the export from DCRS again" in text
    assert "dcrs run --export /data/kc --warehouse /srv/dcrs/warehouse/dcrs.duckdb" in text
    assert "the log file /srv/dcrs/warehouse/dcrs.duckdb.log" in text


def test_failure_alert_without_a_service_names_the_export_directory() -> None:
    message = compose_failure_alert("/data/kc", "manifest.json: missing", "w.duckdb")
    assert message["Subject"] == "DCRS run failed, nothing published — export /data/kc"


# --- settings from the environment ----------------------------------------------------


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"DCRS_SMTP_HOST": "smtp.example.org"},
        {"DCRS_ALERT_TO": "manager@example.org", "DCRS_ALERT_FROM": SENDER},
        {"DCRS_SMTP_HOST": "  ", "DCRS_ALERT_TO": "manager@example.org"},
    ],
)
def test_settings_are_none_without_host_or_recipients(environ: dict[str, str]) -> None:
    assert SmtpSettings.from_environment(environ) is None
    assert alerts.alerts_off_reason(environ).startswith("Email alerts are off: ")


def test_settings_are_read_from_the_environment() -> None:
    settings = SmtpSettings.from_environment(
        {
            "DCRS_SMTP_HOST": "smtp.example.org",
            "DCRS_SMTP_PORT": "587",
            "DCRS_ALERT_FROM": SENDER,
            "DCRS_ALERT_TO": " manager@example.org,data.lead@example.org , ,",
            "DCRS_SMTP_USER": "dcrs",
            "DCRS_SMTP_PASSWORD": "s3cret",
        }
    )
    assert settings == SmtpSettings(
        host="smtp.example.org",
        port=587,
        sender=SENDER,
        recipients=["manager@example.org", "data.lead@example.org"],
        user="dcrs",
        password="s3cret",
        starttls=None,
    )
    assert "s3cret" not in repr(settings)


def test_settings_defaults() -> None:
    settings = SmtpSettings.from_environment(
        {
            "DCRS_SMTP_HOST": "localhost",
            "DCRS_ALERT_FROM": SENDER,
            "DCRS_ALERT_TO": "manager@example.org",
            "DCRS_SMTP_STARTTLS": "false",
        }
    )
    assert settings is not None
    assert (settings.port, settings.user, settings.password, settings.starttls) == (
        25,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"DCRS_SMTP_PORT": "smtp"}, "DCRS_SMTP_PORT must be a port number"),
        ({"DCRS_SMTP_PORT": "0"}, "DCRS_SMTP_PORT must be a port number"),
        ({"DCRS_SMTP_PORT": "70000"}, "DCRS_SMTP_PORT must be a port number"),
        ({"DCRS_SMTP_PORT": "-25"}, "DCRS_SMTP_PORT must be a port number"),
        ({"DCRS_ALERT_FROM": ""}, "DCRS_ALERT_FROM is not"),
        ({"DCRS_ALERT_FROM": "dcrs"}, "DCRS_ALERT_FROM holds 'dcrs'"),
        ({"DCRS_ALERT_TO": " , "}, "DCRS_ALERT_TO holds no address"),
        ({"DCRS_ALERT_TO": "a@example.org, manager"}, "DCRS_ALERT_TO holds 'manager'"),
        ({"DCRS_SMTP_USER": "dcrs"}, "DCRS_SMTP_PASSWORD is not"),
        ({"DCRS_SMTP_PASSWORD": "s3cret"}, "DCRS_SMTP_USER is not"),
        ({"DCRS_SMTP_STARTTLS": "maybe"}, "DCRS_SMTP_STARTTLS must be true or false"),
    ],
)
def test_unusable_settings_raise_a_clear_error(changes: dict[str, str], message: str) -> None:
    environ = {
        "DCRS_SMTP_HOST": "smtp.example.org",
        "DCRS_ALERT_FROM": SENDER,
        "DCRS_ALERT_TO": "manager@example.org",
        **changes,
    }
    with pytest.raises(AlertConfigError, match=re.escape(message)):
        SmtpSettings.from_environment(environ)


# --- delivery failures ----------------------------------------------------------------


def test_delivery_to_a_closed_port_raises_after_every_attempt() -> None:
    port = free_port()  # nothing listens on it
    settings = SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, recipients=RECIPIENTS)
    log: list[str] = []

    with pytest.raises(AlertDeliveryError) as raised:
        send(sample_alert(), settings, attempts=3, backoff_seconds=0, log=log.append)

    assert len(log) == 3
    for attempt, line in enumerate(log, start=1):
        assert line.startswith(f"Alert email to 127.0.0.1:{port}: attempt {attempt} of 3 failed")
        assert "ConnectionRefusedError" in line
    assert f"127.0.0.1:{port}" in str(raised.value)
    assert "after 3 attempts" in str(raised.value)
    assert "ConnectionRefusedError" in str(raised.value)
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)


def test_retries_back_off_doubling(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []
    monkeypatch.setattr(alerts.time, "sleep", delays.append)
    settings = SmtpSettings(
        host="127.0.0.1", port=free_port(), sender=SENDER, recipients=RECIPIENTS
    )
    with pytest.raises(AlertDeliveryError):
        send(sample_alert(), settings, attempts=3, backoff_seconds=2.0, log=lambda line: None)
    assert delays == [2.0, 4.0]


def test_every_recipient_refused_is_a_failure() -> None:
    with running_smtp_server(refused_recipients=set(RECIPIENTS)) as server:
        log: list[str] = []
        with pytest.raises(AlertDeliveryError, match="every recipient was refused"):
            send(
                sample_alert(), settings_for(server), attempts=2, backoff_seconds=0, log=log.append
            )
        assert server.messages == []
        assert len(log) == 2


def test_some_recipients_refused_is_delivered_and_logged() -> None:
    with running_smtp_server(refused_recipients={"data.lead@example.org"}) as server:
        log: list[str] = []
        send(sample_alert(), settings_for(server), backoff_seconds=0, log=log.append)
        assert len(server.deliveries) == 1
        assert server.deliveries[0].recipients == ["manager@example.org"]
        assert len(log) == 1
        assert "refused some recipients: data.lead@example.org: 550" in log[0]


def test_required_starttls_fails_when_the_server_does_not_offer_it(
    smtp_server: SmtpServer,
) -> None:
    with pytest.raises(AlertDeliveryError, match="STARTTLS"):
        send(
            sample_alert(),
            settings_for(smtp_server, starttls=True),
            attempts=1,
            log=lambda line: None,
        )
    assert smtp_server.messages == []


# --- login ----------------------------------------------------------------------------

# aiosmtpd warns that AUTH without TLS is insecure; on loopback, in a test, it is intended.
auth_without_tls = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def auth_server() -> Iterator[SmtpServer]:
    with running_smtp_server(authenticator=PasswordAuthenticator("dcrs", "s3cret")) as server:
        yield server


@auth_without_tls
def test_no_password_goes_in_clear_to_a_server_without_tls() -> None:
    """The server offers no TLS: the login is not attempted (nor retried), nothing is
    sent, and the error says how to allow it."""
    authenticator = PasswordAuthenticator("dcrs", "s3cret")
    with running_smtp_server(authenticator=authenticator) as server:
        with pytest.raises(PlaintextLoginRefused, match="DCRS_SMTP_ALLOW_PLAINTEXT=1"):
            send(
                sample_alert(),
                settings_for(server, user="dcrs", password="s3cret"),
                backoff_seconds=0,
                log=lambda line: None,
            )
        assert server.messages == []
    assert authenticator.logins_over_tls == []


def test_allow_plaintext_is_read_from_the_environment() -> None:
    base = {"DCRS_SMTP_HOST": "mail", "DCRS_ALERT_TO": "a@b.org", "DCRS_ALERT_FROM": "c@d.org"}
    assert not SmtpSettings.from_environment(base).allow_plaintext
    allowed = SmtpSettings.from_environment(base | {"DCRS_SMTP_ALLOW_PLAINTEXT": "1"})
    assert allowed.allow_plaintext


@auth_without_tls
def test_login_in_clear_only_when_allowed(auth_server: SmtpServer) -> None:
    log: list[str] = []
    send(
        sample_alert(),
        settings_for(auth_server, user="dcrs", password="s3cret", allow_plaintext=True),
        backoff_seconds=0,
        log=log.append,
    )
    assert len(auth_server.deliveries) == 1
    assert auth_server.deliveries[0].login == "dcrs"
    # The server offers no STARTTLS: the login goes without it, as allowed, and it says so.
    assert log == [f"Alert email: logging in to {auth_server.host}:{auth_server.port} without TLS."]


def test_the_login_goes_over_starttls(tmp_path, monkeypatch) -> None:
    """A server with STARTTLS (a real certificate, trusted through SSL_CERT_FILE): the
    automatic choice upgrades the connection before logging in."""
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    authenticator = PasswordAuthenticator("dcrs", "s3cret")
    with running_smtp_server(authenticator=authenticator, certificate=certificate) as server:
        log: list[str] = []
        send(
            sample_alert(),
            settings_for(server, user="dcrs", password="s3cret"),
            backoff_seconds=0,
            log=log.append,
        )
        assert [delivery.login for delivery in server.deliveries] == ["dcrs"]
    assert authenticator.logins_over_tls == [True]
    assert log == []


@auth_without_tls
def test_port_465_is_tls_from_the_start(tmp_path, monkeypatch) -> None:
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    authenticator = PasswordAuthenticator("dcrs", "s3cret")
    try:
        server_context = running_smtp_server(
            authenticator=authenticator, certificate=certificate, implicit_tls_port=465
        )
        server = server_context.__enter__()
    except (OSError, RuntimeError) as error:  # port 465 needs root, or is taken
        pytest.skip(f"cannot listen on port 465 here: {error}")
    try:
        send(
            sample_alert(),
            settings_for(server, user="dcrs", password="s3cret"),
            backoff_seconds=0,
            log=lambda line: None,
        )
        assert [delivery.login for delivery in server.deliveries] == ["dcrs"]
    finally:
        server_context.__exit__(None, None, None)
    assert authenticator.logins_over_tls == [True]


@auth_without_tls
def test_wrong_password_is_a_delivery_error(auth_server: SmtpServer) -> None:
    with pytest.raises(AlertDeliveryError, match="SMTPAuthenticationError: 535"):
        send(
            sample_alert(),
            settings_for(auth_server, user="dcrs", password="wrong", allow_plaintext=True),
            attempts=2,
            backoff_seconds=0,
            log=lambda line: None,
        )
    assert auth_server.messages == []


@auth_without_tls
def test_server_requiring_login_refuses_mail_without_it(auth_server: SmtpServer) -> None:
    with pytest.raises(AlertDeliveryError, match="530"):
        send(sample_alert(), settings_for(auth_server), attempts=1, log=lambda line: None)
    assert auth_server.messages == []


# --- whom each email is for (issue 17) ------------------------------------------------

ROUTING_ENVIRONMENT = {
    "DCRS_SMTP_HOST": "127.0.0.1",
    "DCRS_ALERT_FROM": SENDER,
    "DCRS_ALERT_TO": "everyone@example.org",
    "DCRS_ALERT_TO_KC": "kc.manager@example.org, kc.lead@example.org",
    "DCRS_ENGINEER_TO": "data.engineer@example.org",
}
KC_AUGUST = alerts.Extract(SERVICE_NAME, "KC", "2010-08-31")


def routing_settings(server: SmtpServer, **changes: str) -> SmtpSettings:
    environ = {**ROUTING_ENVIRONMENT, "DCRS_SMTP_PORT": str(server.port), **changes}
    settings = SmtpSettings.from_environment({k: v for k, v in environ.items() if v})
    assert settings is not None
    return settings


def test_a_services_emails_go_to_its_own_managers(smtp_server: SmtpServer) -> None:
    settings = routing_settings(smtp_server)
    assert settings.service_recipients == {"KC": ["kc.manager@example.org", "kc.lead@example.org"]}
    other = compose_quality_alert(
        "Westminster Health Trainers", "WM", "2010-08-31", EXPORT_DIR, sample_results(), {}
    )
    assert other is not None
    for message in (sample_alert(), other):
        send(message, settings, backoff_seconds=0, log=lambda line: None)
    kc, westminster = smtp_server.deliveries
    assert kc.recipients == ["kc.manager@example.org", "kc.lead@example.org"]
    assert kc.message["To"] == "kc.manager@example.org, kc.lead@example.org"
    # a service without its own setting falls back to DCRS_ALERT_TO
    assert westminster.recipients == ["everyone@example.org"]
    assert westminster.message["Subject"].endswith(
        "Westminster Health Trainers (WM), extract 31 August 2010"
    )


def test_a_service_setting_is_checked_like_the_others() -> None:
    with pytest.raises(AlertConfigError, match="DCRS_ALERT_TO_KC holds 'kc.manager'"):
        SmtpSettings.from_environment({**ROUTING_ENVIRONMENT, "DCRS_ALERT_TO_KC": "kc.manager"})


def test_failed_runs_go_to_the_engineer_and_the_manager_gets_no_commands(
    smtp_server: SmtpServer,
) -> None:
    engineer = compose_failure_alert(
        "/data/kc", "goals.csv: missing", "/srv/dcrs.duckdb", KC_AUGUST, "/srv/dcrs.duckdb.log"
    )
    notice = alerts.compose_failure_notice(KC_AUGUST, "2010-07-31")
    settings = routing_settings(smtp_server)
    for message in (engineer, notice):
        send(message, settings, backoff_seconds=0, log=lambda line: None)
    to_engineer, to_manager = smtp_server.deliveries
    assert to_engineer.recipients == ["data.engineer@example.org"]
    assert "dcrs run --export /data/kc" in plain_text(to_engineer.message)
    assert to_manager.recipients == ["kc.manager@example.org", "kc.lead@example.org"]
    assert to_manager.message["Subject"] == (
        "DCRS extract not published yet — "
        "Kensington and Chelsea Health Trainer Service (KC), extract 31 August 2010"
    )
    text = plain_text(to_manager.message)
    assert "still show the extract of 31 July 2010" in text
    assert "dcrs " not in text
    assert "/srv" not in text  # no paths, no log file


def test_without_an_engineer_the_manager_gets_only_the_full_email(
    smtp_server: SmtpServer,
) -> None:
    """DCRS_ENGINEER_TO unset: the engineer's email goes to DCRS_ALERT_TO, and a manager
    who is on that list is not sent the notice as well."""
    settings = routing_settings(smtp_server, DCRS_ENGINEER_TO="", DCRS_ALERT_TO_KC="")
    engineer = compose_failure_alert("/data/kc", "goals.csv: missing", "w.duckdb", KC_AUGUST)
    notice = alerts.compose_failure_notice(KC_AUGUST, None)
    assert send(engineer, settings, backoff_seconds=0) == ["everyone@example.org"]
    assert send(notice, settings, backoff_seconds=0) == []
    assert len(smtp_server.deliveries) == 1


def test_quality_alert_attaches_and_links_the_report(smtp_server: SmtpServer) -> None:
    report = b"<!doctype html><title>KC, 31 August 2010</title>\n"
    message = compose_quality_alert(
        SERVICE_NAME,
        "KC",
        "2010-08-31",
        EXPORT_DIR,
        sample_results(),
        {},
        report=report,
        report_link="https://intranet.example.org/dcrs/report.html",
    )
    assert message is not None
    send(message, routing_settings(smtp_server), backoff_seconds=0)
    (received,) = smtp_server.messages
    (attachment,) = received.iter_attachments()
    assert attachment.get_filename() == "report.html"
    assert attachment.get_content_type() == "text/html"
    assert attachment.get_content().encode() == report
    text = plain_text(received)
    assert "The report of this extract is attached (report.html" in text
    assert "Section 3, Data capture" in text
    assert "https://intranet.example.org/dcrs/report.html#data-capture" in text
    html_body = received.get_body(preferencelist=("html",)).get_content()
    assert '<a href="https://intranet.example.org/dcrs/report.html#data-capture">' in html_body


def test_report_url_is_the_outputs_folders_address() -> None:
    assert alerts.report_url({}) is None
    assert (
        alerts.report_url({"DCRS_REPORT_URL": "https://intranet.example.org/dcrs/"})
        == "https://intranet.example.org/dcrs/report.html"
    )


def test_all_passed_email(smtp_server: SmtpServer) -> None:
    message = alerts.compose_all_passed(KC_AUGUST, EXPORT_DIR, 25, report=b"<html></html>")
    send(message, routing_settings(smtp_server), backoff_seconds=0)
    (delivery,) = smtp_server.deliveries
    assert delivery.recipients == ["kc.manager@example.org", "kc.lead@example.org"]
    assert delivery.message["Subject"] == (
        "DCRS: all 25 checks passed — "
        "Kensington and Chelsea Health Trainer Service (KC), extract 31 August 2010"
    )
    text = plain_text(delivery.message)
    assert "if a month passes without an email about the DCRS extract" in text
    assert len(list(delivery.message.iter_attachments())) == 1


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, True), ("true", True), ("ture", True), ("false", False), ("0", False), ("off", False)],
)
def test_all_passed_email_is_on_unless_turned_off(value: str | None, on: bool) -> None:
    environ = {} if value is None else {"DCRS_ALERT_ALL_PASSED": value}
    assert alerts.all_passed_email_on(environ) is on


def test_managers_emails_name_no_folder_of_the_server() -> None:
    """The manager cannot open the export's folder on the pipeline's server; it is in the
    engineer's emails only (found following the README as a newcomer)."""
    all_passed = alerts.compose_all_passed(KC_AUGUST, EXPORT_DIR, 25)
    for message in (sample_alert(), all_passed):
        for preference in ("plain", "html"):
            body = message.get_body(preferencelist=(preference,))
            assert body is not None
            assert EXPORT_DIR not in body.get_content()
    failure = alerts.compose_failure_alert(EXPORT_DIR, "goals.csv is missing", "/w/dcrs.duckdb")
    assert EXPORT_DIR in plain_text(failure)


def test_engineers_commands_can_be_pasted(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dcrs` is not on the engineer's PATH (it is the checkout's .venv/bin/dcrs): the
    commands in the engineer's emails name the installed one, and the late extract's
    names the worker's inbox when DCRS_INBOX is set."""
    dcrs = Path(sys.executable).parent / "dcrs"
    assert dcrs.is_file()
    failure = plain_text(compose_failure_alert(EXPORT_DIR, "goals.csv: missing", "/w/x.duckdb"))
    assert f"run it again: {dcrs} run --export {EXPORT_DIR} --warehouse /w/x.duckdb" in failure
    monkeypatch.setenv("DCRS_INBOX", "/srv/dcrs/inbox")
    late = alerts.compose_late_extract(
        KC_AUGUST,
        "September 2010",
        dt.date(2010, 10, 7),
        dt.date(2010, 10, 9),
        alerts.ENGINEER,
        "w",
    )
    assert f"load it: {dcrs} run-inbox --inbox /srv/dcrs/inbox --warehouse w" in plain_text(late)
