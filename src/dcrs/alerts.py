"""Email alerts: data-capture shortfalls, passed checks, failed runs and late extracts.

A run that finds failing data-quality checks sends the service's manager **one** email
listing, in plain words, each field below its capture standard (with its figures and last
month's), any failed validity or structure checks, and what to do, with the run's own
``report.html`` attached; a run whose checks all pass says so (unless turned off), so that
silence always means something is wrong. A run that fails outright sends the data
engineer what failed and what to do (the command, the log file), and the manager, when
the service is known, only what it means for them. ``dcrs check-freshness`` tells both
when a service's next extract is late (:mod:`dcrs.freshness`).

The SMTP server and the addresses come from the environment (or a mapping of the same
names), never from the repository:

=======================  ============================================================
``DCRS_SMTP_HOST``       the SMTP server; unset (or empty) means alerts are off
``DCRS_SMTP_PORT``       its port; default 25
``DCRS_ALERT_FROM``      the sender's address; required when the host is set (there is
                         no made-up default: relays often reject an invented
                         ``user@machine`` sender, so it must be a real address)
``DCRS_ALERT_TO``        recipients, comma-separated; unset (or empty) means alerts are
                         off. They get every email that no setting below sends elsewhere
``DCRS_ALERT_TO_<CODE>`` the managers of service ``<CODE>`` (its service code, e.g.
                         ``DCRS_ALERT_TO_KC``), comma-separated: that service's emails go
                         to them instead of ``DCRS_ALERT_TO``
``DCRS_ENGINEER_TO``     the data engineers, comma-separated: failed runs and late
                         extracts, with the commands; default ``DCRS_ALERT_TO``
``DCRS_REPORT_URL``      the web address at which the outputs folder beside the
                         warehouse (``X/`` for ``X.duckdb``) is served; emails then link
                         ``<URL>/report.html``
``DCRS_ALERT_ALL_PASSED`` ``false`` (or ``0``, ``no``, ``off``) stops the email of a run
                         whose checks all pass; on by default
``DCRS_SMTP_USER``       login name, optional; needs ``DCRS_SMTP_PASSWORD`` with it
``DCRS_SMTP_PASSWORD``   login password
``DCRS_SMTP_STARTTLS``   ``true`` / ``false``; unset means: use STARTTLS when a user is
                         set and the server offers it
``DCRS_SMTP_ALLOW_PLAINTEXT``  ``1`` lets the login go in clear when the server offers no
                         TLS; otherwise a login is only ever sent over TLS
=======================  ============================================================

Each email records whom it is for (``X-DCRS-Audience``: ``manager`` or ``engineer``, and
``X-DCRS-Service``), and its recipients are looked up from the settings when it is sent,
so an email waiting in the outbox goes to the addresses set when it leaves.

On port 465 the connection is TLS from the start (implicit TLS); on other ports STARTTLS
upgrades it. A password is never sent in clear unless ``DCRS_SMTP_ALLOW_PLAINTEXT=1``.

This module uses only the standard library (``smtplib``, ``email``); it relies on the
``CheckResult`` objects of :mod:`dcrs.quality` only through their attributes.
"""

from __future__ import annotations

import html
import math
import os
import re
import smtplib
import ssl
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from fractions import Fraction
from pathlib import Path
from typing import Protocol

DEFAULT_SMTP_PORT = 25
IMPLICIT_TLS_PORT = 465
SMTP_TIMEOUT_SECONDS = 30

CAPTURE_SUITE = "data_capture"

POPULATION_WORDS: dict[str, str] = {
    "all clients": "clients",
    "eligible clients": "eligible clients",
    "clients referred by Other": 'clients referred by "Other"',
    "all goals": "goals",
}

FIELD_ADVICE: dict[str, str] = {
    "health_trainer_id": "Record the health trainer who sees each client.",
    "gender": "Ask every client's gender at registration and record the answer.",
    "date_of_birth": "Record every client's date of birth at registration.",
    "ethnicity": (
        "Ask every client's ethnic group at registration; record 'Not stated' when they "
        "prefer not to say."
    ),
    "disability": (
        "Ask every client the disability question at registration and record "
        "'Not disabled' as well as 'Disabled'."
    ),
    "postcode": "Record every client's home postcode at registration.",
    "ward": "Record every client's ward; check the postcode where the ward is missing.",
    "deprivation_quintile": (
        "Record every client's deprivation quintile; check the postcode where it is missing."
    ),
    "how_heard": "Ask every client how they heard about the service and record the answer.",
    "referral_source": "Record who referred every client, including self-referrals.",
    "eligible": "Record an eligibility decision for every client.",
    "signposted_to": ("Record a signposting outcome for every client, including 'Not required'."),
    "referral_source_other": (
        "When the referral source is 'Other', record who referred the client in the details field."
    ),
    "initial_assessment_date": (
        "Record the date of the initial assessment of every eligible client."
    ),
    "primary_health_issue": "Record the primary health issue at the initial assessment.",
    "bmi": "Record BMI at the initial assessment of every eligible client.",
    "goal_set_date": "Record the date on which each goal was set.",
}

WHAT_CAPTURE_MEANS = (
    "What the figures mean: each percentage is the share of the service's records (its "
    "clients, eligible clients or goals, as named) in which DCRS holds a usable answer for "
    "the field, counted over every record in this month's export; the standard is the share "
    "the service is expected to reach. A missing or unrecognised answer counts against it."
)

# The headers that say whom an email is for; its recipients are looked up when it is sent.
AUDIENCE_HEADER = "X-DCRS-Audience"
SERVICE_HEADER = "X-DCRS-Service"
# On the manager's notice of a failed run: the engineer has the full email, so the notice
# is not sent separately when it would reach the same people.
ENGINEER_TOLD_HEADER = "X-DCRS-Engineer-Told"
MANAGER = "manager"
ENGINEER = "engineer"
SERVICE_RECIPIENTS_PREFIX = "DCRS_ALERT_TO_"
REPORT_ATTACHMENT = "report.html"

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class CheckResultLike(Protocol):
    """The attributes of ``dcrs.quality.CheckResult`` that this module reads."""

    suite: str
    check: str
    field: str | None
    description: str
    observed_value: float | None
    threshold: float | None
    passed: bool
    recorded: int | None
    total: int | None
    population: str | None
    label: str | None


class AlertConfigError(Exception):
    """The alert settings in the environment are present but unusable."""


class AlertDeliveryError(Exception):
    """An alert email could not be delivered, even after retrying."""


@dataclass
class SmtpSettings:
    """Where and how to send alert emails.

    ``starttls`` is ``True`` (always upgrade, fail if the server cannot), ``False`` (never)
    or ``None`` (upgrade when a user is set and the server offers STARTTLS).
    """

    host: str
    port: int
    sender: str
    recipients: list[str]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool | None = None
    allow_plaintext: bool = False
    # a service's managers, by service code in capitals (DCRS_ALERT_TO_<CODE>)
    service_recipients: dict[str, list[str]] = field(default_factory=dict)
    # the data engineers (DCRS_ENGINEER_TO); empty: ``recipients``
    engineers: list[str] = field(default_factory=list)

    @property
    def server(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"

    def managers(self, service_code: str | None) -> list[str]:
        """Who gets a service's emails: its own managers, else ``DCRS_ALERT_TO``."""
        if service_code:
            own = self.service_recipients.get(service_code.upper())
            if own:
                return list(own)
        return list(self.recipients)

    def engineer_recipients(self) -> list[str]:
        """Who gets failed runs and late extracts: ``DCRS_ENGINEER_TO``, else
        ``DCRS_ALERT_TO``."""
        return list(self.engineers or self.recipients)

    def recipients_for(self, message: EmailMessage) -> list[str]:
        """The recipients of ``message``, from the audience and service it names; an
        email that names none goes to ``recipients``. Empty for a manager's notice of a
        failed run that would reach only people who get the engineer's email of it."""
        audience = message[AUDIENCE_HEADER]
        if audience == ENGINEER:
            return self.engineer_recipients()
        if audience == MANAGER:
            managers = self.managers(message[SERVICE_HEADER])
            if message[ENGINEER_TOLD_HEADER] and set(managers) <= set(self.engineer_recipients()):
                return []
            return managers
        return list(self.recipients)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> SmtpSettings | None:
        """Read the settings from the environment.

        Returns ``None`` (alerts are off) when ``DCRS_SMTP_HOST`` or ``DCRS_ALERT_TO`` is
        unset or empty. Raises :class:`AlertConfigError` when they are set but another
        setting is unusable: a port that is not a number from 1 to 65535, no sender, an
        address without ``@``, a user without a password, or a bad STARTTLS switch.
        """
        host = _setting(environ, "DCRS_SMTP_HOST")
        recipients_text = _setting(environ, "DCRS_ALERT_TO")
        if host is None or recipients_text is None:
            return None

        port_text = _setting(environ, "DCRS_SMTP_PORT")
        port = DEFAULT_SMTP_PORT
        if port_text is not None:
            if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
                raise AlertConfigError(
                    f"DCRS_SMTP_PORT must be a port number from 1 to 65535, not {port_text!r}"
                )
            port = int(port_text)

        sender = _setting(environ, "DCRS_ALERT_FROM")
        if sender is None:
            raise AlertConfigError(
                f"DCRS_SMTP_HOST is set ({host}) but DCRS_ALERT_FROM is not: set it to the "
                "address alert emails should come from"
            )
        _check_address("DCRS_ALERT_FROM", sender)

        recipients = [part.strip() for part in recipients_text.split(",") if part.strip()]
        if not recipients:
            raise AlertConfigError(
                f"DCRS_ALERT_TO holds no address: {recipients_text!r}; "
                "give one or more, separated by commas"
            )
        for recipient in recipients:
            _check_address("DCRS_ALERT_TO", recipient)
        service_recipients = {
            name.removeprefix(SERVICE_RECIPIENTS_PREFIX).upper(): _addresses(environ, name)
            for name in sorted(environ)
            if name.startswith(SERVICE_RECIPIENTS_PREFIX) and _setting(environ, name) is not None
        }
        engineers = (
            _addresses(environ, "DCRS_ENGINEER_TO")
            if _setting(environ, "DCRS_ENGINEER_TO") is not None
            else []
        )

        user = _setting(environ, "DCRS_SMTP_USER")
        password = environ.get("DCRS_SMTP_PASSWORD") or None
        if user is not None and password is None:
            raise AlertConfigError("DCRS_SMTP_USER is set but DCRS_SMTP_PASSWORD is not")
        if user is None and password is not None:
            raise AlertConfigError("DCRS_SMTP_PASSWORD is set but DCRS_SMTP_USER is not")

        starttls_text = _setting(environ, "DCRS_SMTP_STARTTLS")
        starttls: bool | None = None
        if starttls_text is not None:
            if starttls_text.lower() in TRUE_WORDS:
                starttls = True
            elif starttls_text.lower() in FALSE_WORDS:
                starttls = False
            else:
                raise AlertConfigError(
                    f"DCRS_SMTP_STARTTLS must be true or false, not {starttls_text!r}"
                )

        return cls(
            host=host,
            port=port,
            sender=sender,
            recipients=recipients,
            user=user,
            password=password,
            starttls=starttls,
            allow_plaintext=_setting(environ, "DCRS_SMTP_ALLOW_PLAINTEXT") == "1",
            service_recipients=service_recipients,
            engineers=engineers,
        )


def alerts_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether alerts are on (a server and recipients set), usable or not."""
    return all(_setting(environ, name) for name in ("DCRS_SMTP_HOST", "DCRS_ALERT_TO"))


def alerts_off_reason(environ: Mapping[str, str] = os.environ) -> str:
    """One line saying why alerts are off, for a run whose settings are ``None``."""
    missing = [
        name for name in ("DCRS_SMTP_HOST", "DCRS_ALERT_TO") if _setting(environ, name) is None
    ]
    return f"Email alerts are off: {' and '.join(missing) or 'SMTP'} not set."


def _setting(environ: Mapping[str, str], name: str) -> str | None:
    """An environment variable, stripped; ``None`` when unset or blank."""
    value = environ.get(name, "").strip()
    return value or None


def _addresses(environ: Mapping[str, str], name: str) -> list[str]:
    """A comma-separated list of addresses, each checked."""
    text = _setting(environ, name) or ""
    addresses = [part.strip() for part in text.split(",") if part.strip()]
    if not addresses:
        raise AlertConfigError(
            f"{name} holds no address: {text!r}; give one or more, separated by commas"
        )
    for address in addresses:
        _check_address(name, address)
    return addresses


def report_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """The address of the published ``report.html`` (``DCRS_REPORT_URL``, the outputs
    folder's web address, plus ``/report.html``); ``None`` when unset."""
    base = _setting(environ, "DCRS_REPORT_URL")
    if base is None:
        return None
    return f"{base.rstrip('/')}/{REPORT_ATTACHMENT}"


def all_passed_email_on(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a run whose checks all pass sends its email (``DCRS_ALERT_ALL_PASSED``):
    on unless set to false, 0, no or off, so that a typo never silences it."""
    value = _setting(environ, "DCRS_ALERT_ALL_PASSED")
    return value is None or value.lower() not in FALSE_WORDS


def _check_address(variable: str, address: str) -> None:
    local_part, at_sign, domain = address.rpartition("@")
    if not at_sign or not local_part or not domain or any(char.isspace() for char in address):
        raise AlertConfigError(f"{variable} holds {address!r}, which is not an email address")


# ---------------------------------------------------------------------------------------
# Message bodies: a list of blocks rendered both as plain text and as simple HTML.


@dataclass
class _Block:
    """A heading, a paragraph or a bulleted list of the message body."""

    kind: str  # 'heading' | 'paragraph' | 'list'
    lines: list[str]


def _render_text(blocks: Sequence[_Block]) -> str:
    parts: list[str] = []
    for block in blocks:
        if block.kind == "list":
            parts.append("\n".join(f"- {line}" for line in block.lines))
        else:
            parts.append("\n".join(block.lines))
    return "\n\n".join(parts) + "\n"


URL_PATTERN = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:)]")


def _linked(line: str) -> str:
    """A line as HTML, its web addresses as links."""
    escaped = html.escape(line)
    return URL_PATTERN.sub(lambda match: f'<a href="{match[0]}">{match[0]}</a>', escaped)


def _render_html(blocks: Sequence[_Block]) -> str:
    parts: list[str] = []
    for block in blocks:
        if block.kind == "heading":
            parts.append(f"<h3>{html.escape(' '.join(block.lines))}</h3>")
        elif block.kind == "list":
            items = "".join(f"<li>{html.escape(line)}</li>" for line in block.lines)
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append(f"<p>{'<br>'.join(_linked(line) for line in block.lines)}</p>")
    return "<html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def _message(
    subject: str,
    blocks: Sequence[_Block],
    audience: str | None = None,
    service_code: str | None = None,
    report: bytes | None = None,
) -> EmailMessage:
    """An email of plain text and HTML, marked with whom it is for, with the report
    attached when one is given."""
    message = EmailMessage()
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    if audience is not None:
        message[AUDIENCE_HEADER] = audience
    if service_code:
        message[SERVICE_HEADER] = service_code
    message.set_content(_render_text(blocks))
    message.add_alternative(_render_html(blocks), subtype="html")
    if report is not None:
        # the page is UTF-8 (a minus sign, a dash): without the charset a mail client reads
        # the attachment as ASCII and shows replacement characters
        message.add_attachment(
            report,
            maintype="text",
            subtype="html",
            filename=REPORT_ATTACHMENT,
            params={"charset": "utf-8"},
        )
    return message


# ---------------------------------------------------------------------------------------
# Quality alert


def field_label(result: CheckResultLike) -> str:
    """A capture field's name in plain words, e.g. ``bmi`` -> ``BMI``: its label in the
    data_capture_fields seed, else its name."""
    if result.label:
        return result.label
    return (result.field or result.check).replace("_", " ").capitalize()


def population_words(population: str | None) -> str:
    """What a capture percentage counts, e.g. ``all clients`` -> ``clients``."""
    if population is None:
        return "records"
    return POPULATION_WORDS.get(population, population)


def format_percent(value: float) -> str:
    """A percentage to one decimal place: ``57.8%``."""
    return f"{value:.1f}%"


def format_threshold(value: float) -> str:
    """A threshold as configured, without a needless ``.0``: ``95%``, ``92.5%``."""
    return f"{value:g}%"


def format_extract_date(extract_date: str) -> str:
    """``2010-08-31`` -> ``31 August 2010``; anything else is returned as it is."""
    try:
        parsed = date.fromisoformat(extract_date)
    except ValueError:
        return extract_date
    return f"{parsed.day} {parsed:%B %Y}"


def more_needed(threshold: float, recorded: int, total: int) -> int:
    """How many more records would reach the threshold: ceil(threshold% of total) - recorded.

    Computed on exact fractions, so 95% of 100 is 95, not 95.00000000000001 -> 96.
    """
    needed = math.ceil(Fraction(str(threshold)) * total / 100)
    return max(needed - recorded, 0)


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _observed_percent(result: CheckResultLike) -> float | None:
    if result.observed_value is not None:
        return float(result.observed_value)
    if result.recorded is not None and result.total:
        return 100 * result.recorded / result.total
    return None


def _last_month(result: CheckResultLike, previous_percent: Mapping[str, float]) -> str:
    key = result.field if result.field in previous_percent else result.check
    previous = previous_percent.get(key) if key is not None else None
    if previous is None:
        return "Last month: no earlier extract."
    sentence = f"Last month: {format_percent(previous)}"
    observed = _observed_percent(result)
    if observed is not None:
        change = round(observed, 1) - round(previous, 1)
        if change > 0.05:
            sentence += f" (up {change:.1f} points)"
        elif change < -0.05:
            sentence += f" (down {-change:.1f} points)"
        else:
            sentence += " (no change)"
    return sentence + "."


def capture_paragraph(result: CheckResultLike, previous_percent: Mapping[str, float]) -> str:
    """One plain-English paragraph for a capture field below its standard."""
    label = field_label(result)
    population = population_words(result.population)
    observed = _observed_percent(result)
    if result.recorded is not None and result.total is not None:
        recorded_for = f"{result.recorded} of {result.total} {population}"
        if observed is not None:
            recorded_for += f" ({format_percent(observed)})"
    elif observed is not None:
        recorded_for = f"{format_percent(observed)} of {population}"
    else:
        recorded_for = f"an unknown share of {population}"
    sentence = f"{label} was recorded for {recorded_for}"

    if result.threshold is not None:
        sentence += f"; the standard is {format_threshold(result.threshold)}"
        if observed is not None and observed < result.threshold:
            shortfall = result.threshold - observed
            sentence += f", so it is {shortfall:.1f} points short"
        if result.recorded is not None and result.total is not None:
            missing = more_needed(result.threshold, result.recorded, result.total)
            if missing > 0:
                noun = "goal" if result.population == "all goals" else "client"
                sentence += f" ({_plural(missing, f'more {noun}', f'more {noun}s')}"
                sentence += " would need it recorded)"
    return f"{sentence}. {_last_month(result, previous_percent)}"


def other_check_line(result: CheckResultLike) -> str:
    """One list item for a failed validity or structure check."""
    description = result.description.strip().rstrip(".")
    if result.observed_value is None:
        return f"{description}: failed."
    count = result.observed_value
    count_text = f"{int(count)}" if float(count).is_integer() else f"{count:g}"
    rows = "row" if count == 1 else "rows"
    return f"{description}: {count_text} {rows} not as expected."


def field_advice(result: CheckResultLike) -> str:
    """What to do about one capture field below its standard."""
    field_name = result.field or result.check
    advice = FIELD_ADVICE.get(field_name)
    if advice is None:
        population = population_words(result.population)
        advice = f"Make sure {field_label(result).lower()} is recorded for all {population}."
    return f"{field_label(result)}: {advice}"


@dataclass(frozen=True)
class Extract:
    """A service's extract, as an email names it."""

    service_name: str
    service_code: str
    extract_date: str  # YYYY-MM-DD

    @property
    def service(self) -> str:
        """``Kensington and Chelsea Health Trainer Service (KC)``."""
        if self.service_code and self.service_name:
            return f"{self.service_name} ({self.service_code})"
        return self.service_name or self.service_code

    @property
    def date_words(self) -> str:
        """``31 August 2010``."""
        return format_extract_date(self.extract_date)

    @property
    def subject_tail(self) -> str:
        """What every subject ends with: the service and the extract."""
        return f"{self.service}, extract {self.date_words}"


def _report_blocks(report: bytes | None, url: str | None, section: str) -> list[_Block]:
    """Where the manager looks: the attached report (``section`` of it) and its link."""
    lines = []
    if report is not None:
        lines.append(
            f"The report of this extract is attached ({REPORT_ATTACHMENT}: open it in a web "
            f"browser; it works offline and prints well). {section}"
        )
    if url is not None:
        lines.append(f"The report online, which always shows the latest extract published: {url}")
    if not lines:
        lines.append(
            f"Ask the data engineer for this extract's report ({REPORT_ATTACHMENT}). {section}"
        )
    return [_Block("paragraph", [line]) for line in lines]


def compose_quality_alert(
    service_name: str,
    service_code: str,
    extract_date: str,
    export_dir: str,
    failures: Iterable[CheckResultLike],
    previous_percent: Mapping[str, float],
    report: bytes | None = None,
    report_link: str | None = None,
) -> EmailMessage | None:
    """The manager's one email for a run with failing quality checks; ``None`` when none
    failed.

    ``failures`` may hold passing checks too: they are left out. ``previous_percent``
    maps a capture field (or, failing that, the check's name) to last month's percent
    captured; a field not in it reads "Last month: no earlier extract." ``report``, the
    run's own report.html, is attached; ``report_link`` (the published report's address)
    is given. ``export_dir`` is not shown: it is a folder on the pipeline's server, which
    the manager cannot open (the engineer's emails name it).
    """
    failed = [result for result in failures if not result.passed]
    if not failed:
        return None
    capture = [result for result in failed if result.suite == CAPTURE_SUITE]
    others = [result for result in failed if result.suite != CAPTURE_SUITE]

    extract = Extract(service_name, service_code, extract_date)
    problems: list[str] = []
    if capture:
        problems.append(_plural(len(capture), "field", "fields") + " below standard")
    if others:
        problems.append(_plural(len(others), "other check", "other checks") + " failed")
    findings: list[str] = []
    if capture:
        verb = "is" if len(capture) == 1 else "are"
        findings.append(f"{_plural(len(capture), 'field', 'fields')} {verb} below standard")
    if others:
        findings.append(_plural(len(others), "other check", "other checks") + " failed")
    topic = "DCRS data capture" if capture else "DCRS data quality"
    subject = f"{topic}: {', '.join(problems)} — {extract.subject_tail}"

    blocks = [
        _Block(
            "paragraph",
            [
                f"The DCRS extract of {extract.date_words} for {extract.service} has been "
                f"checked and published: {' and '.join(findings)}.",
            ],
        )
    ]
    if capture:
        blocks.append(_Block("heading", ["Fields below their standard"]))
        blocks.extend(
            _Block("paragraph", [capture_paragraph(result, previous_percent)]) for result in capture
        )
        blocks.append(_Block("paragraph", [WHAT_CAPTURE_MEANS]))
    if others:
        blocks.append(_Block("heading", ["Other checks that failed"]))
        blocks.append(_Block("list", [other_check_line(result) for result in others]))

    blocks.append(_Block("heading", ["What to do"]))
    advice = [field_advice(result) for result in capture]
    if others:
        advice.append(
            "For the other checks, correct the listed records in DCRS before the next "
            "monthly export."
        )
    blocks.append(_Block("list", advice))
    blocks.append(_Block("heading", ["Where to look"]))
    blocks.extend(
        _report_blocks(
            report,
            f"{report_link}#data-capture" if report_link else None,
            "Section 3, Data capture, shows every field's figure against its standard and "
            "its trend since the first extract.",
        )
    )
    return _message(subject, blocks, MANAGER, service_code, report)


def compose_all_passed(
    extract: Extract,
    export_dir: str,
    checks: int,
    report: bytes | None = None,
    report_link: str | None = None,
) -> EmailMessage:
    """The manager's email for a run whose every check passed: sent every month (unless
    turned off), so that a month without any email means something went wrong.
    ``export_dir`` is not shown, as in `compose_quality_alert`."""
    subject = f"DCRS: all {checks} checks passed — {extract.subject_tail}"
    blocks = [
        _Block(
            "paragraph",
            [
                f"The DCRS extract of {extract.date_words} for {extract.service} has been "
                f"checked and published: all {checks} checks passed. Every field is recorded "
                "at or above its data-capture standard, and no record failed a validity or "
                "structure check.",
            ],
        ),
        _Block("heading", ["What to do"]),
        _Block(
            "paragraph",
            [
                "Nothing. This email comes every month when all is well: if a month passes "
                "without an email about the DCRS extract, tell the data engineer."
            ],
        ),
        _Block("heading", ["Where to look"]),
        *_report_blocks(
            report,
            report_link,
            "It holds the month's figures: the headline figures and targets, every measure "
            "beside its benchmark, and data capture.",
        ),
    ]
    return _message(subject, blocks, MANAGER, extract.service_code, report)


# ---------------------------------------------------------------------------------------
# Failure alert


def dcrs_command() -> str:
    """The ``dcrs`` command as the engineer can paste it: the one installed beside the
    running Python (``.venv/bin/dcrs`` of the checkout, which is not on a shell's PATH),
    else plain ``dcrs``."""
    beside = Path(sys.executable).parent / "dcrs"
    return str(beside) if beside.is_file() else "dcrs"


def compose_failure_alert(
    export_dir: str,
    error: str,
    warehouse: str,
    extract: Extract | None = None,
    log_file: str | None = None,
) -> EmailMessage:
    """The data engineer's email for a run that failed outright: what failed, that
    nothing changed, and what to do (the command, the log file).

    ``extract`` is ``None`` when the manifest could not be read; the subject then names
    the export folder. ``error`` is the run's own message, which names the file and the
    problem.
    """
    label = extract.subject_tail if extract is not None else f"export {export_dir}"
    subject = f"DCRS run failed, nothing published — {label}"
    what = f"{extract.service}, extract {extract.date_words}" if extract else "the export"
    steps = [
        "If the message names a file of the export, fix it or download the export from DCRS "
        "again (every file and manifest.json from the same download), into the same folder.",
        f"Then run it again: {dcrs_command()} run --export {export_dir} --warehouse {warehouse}",
        "A run from the inbox (dcrs run-inbox) does not try the same files again: only "
        "corrected files are tried at its next run.",
    ]
    if log_file:
        steps.append(
            f"If the message is not about the export, the details are in the log file "
            f'{log_file}, and docs/operations.md ("When a run fails") says what each '
            "kind of failure needs."
        )
    blocks = [
        _Block(
            "paragraph",
            [
                f"The DCRS pipeline run for {what} failed, so nothing was published.",
                f"Export: {export_dir}",
            ],
        ),
        _Block("heading", ["What failed"]),
        _Block("paragraph", error.strip().splitlines() or ["(no error message)"]),
        _Block(
            "paragraph",
            [
                f"The published warehouse was left as it was: {warehouse}. "
                "If an earlier run succeeded, reports that read it still show that run's figures."
            ],
        ),
        _Block("heading", ["What to do"]),
        _Block("list", steps),
    ]
    return _message(subject, blocks, ENGINEER, extract.service_code if extract else None)


def compose_failure_notice(extract: Extract, previous_extract: str | None) -> EmailMessage:
    """The manager's email for a failed run of their service: only what it means for
    them (no commands); marked so that it is not sent to people who get the engineer's."""
    subject = f"DCRS extract not published yet — {extract.subject_tail}"
    if previous_extract is None:
        still = "No extract of the service has been published yet."
    else:
        still = (
            "The reports and the warehouse still show the extract of "
            f"{format_extract_date(previous_extract)}."
        )
    blocks = [
        _Block(
            "paragraph",
            [
                f"The DCRS extract of {extract.date_words} for {extract.service} could not "
                f"be processed, so its figures have not been published. {still}"
            ],
        ),
        _Block("heading", ["What to do"]),
        _Block(
            "paragraph",
            [
                "Nothing for now: the data engineer has been sent the details. They may ask "
                "whoever downloads the service's export from DCRS to download it again. You "
                "will get the usual email about the extract once it is published."
            ],
        ),
    ]
    message = _message(subject, blocks, MANAGER, extract.service_code)
    message[ENGINEER_TOLD_HEADER] = "yes"
    return message


# ---------------------------------------------------------------------------------------
# Late extract (dcrs check-freshness)


def compose_late_extract(
    extract: Extract, next_month: str, due: date, today: date, audience: str, warehouse: str
) -> EmailMessage:
    """The email for a service whose next extract is late: to its managers (what it
    means) or to the data engineer (what to check, with the commands)."""
    due_words = format_extract_date(due.isoformat())
    subject = f"DCRS extract for {next_month} is late — {extract.service}"
    opening = (
        f"No DCRS extract for {next_month} has been loaded for {extract.service}: the latest "
        f"is the extract of {extract.date_words}, and the next was due by {due_words}"
        f" ({_plural((today - due).days, 'day', 'days')} ago). The reports still show "
        f"the extract of {extract.date_words}."
    )
    if audience == ENGINEER:
        what_to_do = _Block(
            "list",
            [
                "Check that the export for the month arrived in the inbox; if it did, the "
                "monthly run refused it or did not run: see the flow runs in Prefect, the "
                'log file beside the warehouse and docs/operations.md ("When a run fails").',
                f"Once it is in the inbox, load it: {dcrs_command()} run-inbox --inbox "
                f"{os.environ.get('DCRS_INBOX') or 'INBOX_FOLDER'} --warehouse {warehouse}",
                "This email is sent once for this due date; dcrs check-freshness keeps "
                "reporting the service as late (exit status 9) until its extract is loaded.",
            ],
        )
    else:
        what_to_do = _Block(
            "paragraph",
            [
                "If the service's export has not been downloaded from DCRS this month, "
                "download it as usual and pass it to the data engineer; otherwise the data "
                "engineer, who has also been told, will look into it."
            ],
        )
    blocks = [
        _Block("paragraph", [opening]),
        _Block("heading", ["What to do"]),
        what_to_do,
    ]
    return _message(subject, blocks, audience, extract.service_code)


# ---------------------------------------------------------------------------------------
# Delivery


def _replace_header(message: EmailMessage, name: str, value: str) -> None:
    del message[name]
    message[name] = value


class PlaintextLoginRefused(AlertDeliveryError):
    """A login was set and the server offers no TLS: the password would go in clear."""


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.port == IMPLICIT_TLS_PORT:
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=SMTP_TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)


def _deliver_once(
    message: EmailMessage,
    settings: SmtpSettings,
    recipients: list[str],
    log: Callable[[str], None],
) -> None:
    with _connect(settings) as smtp:
        smtp.ehlo()
        encrypted = isinstance(smtp, smtplib.SMTP_SSL)
        use_starttls = settings.starttls
        if use_starttls is None:
            use_starttls = settings.user is not None and smtp.has_extn("starttls")
        if use_starttls and not encrypted:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
            encrypted = True
        if settings.user is not None:
            if not encrypted:
                if not settings.allow_plaintext:
                    raise PlaintextLoginRefused(
                        f"{settings.server} offers no TLS (STARTTLS, or implicit TLS on port "
                        f"{IMPLICIT_TLS_PORT}), so the SMTP password was not sent; use a "
                        "server with TLS, or set DCRS_SMTP_ALLOW_PLAINTEXT=1 to send it in clear"
                    )
                log(f"Alert email: logging in to {settings.server} without TLS.")
            smtp.login(settings.user, settings.password or "")
        refused = smtp.send_message(message, from_addr=settings.sender, to_addrs=recipients)
    if refused:
        # Some recipients accepted it (all refused raises SMTPRecipientsRefused); sending
        # again would duplicate it for them, so report the refused ones instead.
        details = "; ".join(
            f"{address}: {code} {reply.decode(errors='replace')}"
            for address, (code, reply) in refused.items()
        )
        log(f"Alert email: {settings.server} refused some recipients: {details}")


def send(
    message: EmailMessage,
    settings: SmtpSettings,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
    log: Callable[[str], None] = print,
) -> list[str]:
    """Send ``message`` to its recipients (``settings.recipients_for``: by the audience
    and service it names, else ``settings.recipients``), retrying on failure. Returns the
    recipients; sends nothing and returns ``[]`` when it has none (a manager's notice
    that only the engineer's recipients would get).

    Sets ``From``, ``To`` (and a ``Message-ID`` if it has none, kept across retries).
    A connection or SMTP error is logged and retried after ``backoff_seconds``, doubling
    each time; after the last attempt :class:`AlertDeliveryError` is raised, naming the
    server and the last error. A server that refuses every recipient is a failure; one
    that refuses only some is logged.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    recipients = settings.recipients_for(message)
    if not recipients:
        return []
    _replace_header(message, "From", settings.sender)
    _replace_header(message, "To", ", ".join(recipients))
    if message["Message-ID"] is None:
        domain = settings.sender.rpartition("@")[2]
        message["Message-ID"] = make_msgid(idstring="dcrs", domain=domain)

    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            _deliver_once(message, settings, recipients, log)
        except (OSError, smtplib.SMTPException) as error:
            last_error = error
            log(
                f"Alert email to {settings.server}: attempt {attempt} of {attempts} failed: "
                f"{_describe(error)}"
            )
            if attempt < attempts:
                time.sleep(backoff_seconds * 2 ** (attempt - 1))
        else:
            return recipients
    raise AlertDeliveryError(
        f"Could not send the alert email {message['Subject']!r} via {settings.server} "
        f"after {_plural(attempts, 'attempt', 'attempts')}: {_describe(last_error)}"
    ) from last_error


def _describe(error: Exception | None) -> str:
    """An SMTP or socket error in one line, with its type."""
    if error is None:
        return "no error recorded"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{address} ({code} {reply.decode(errors='replace')})"
            for address, (code, reply) in error.recipients.items()
        )
        return f"every recipient was refused: {refused}"
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"{type(error).__name__}: {error.smtp_code} {text}"
    return f"{type(error).__name__}: {error}"
