"""Is each service's extract on time? ``dcrs check-freshness`` and the daily Prefect flow
(``flows/freshness.py``) run ``check``.

A service's next extract (for the month after its latest one) is due by the end of that
month plus ``DCRS_FRESHNESS_DAYS`` days (default 7): after a January extract, the February
one is due by 7 March, and the service is late from 8 March. Each service of the
warehouse is checked on its own, so a fresh service never hides a stale one.

A late service's managers and the data engineer get an email (through the outbox, so an
undelivered one waits there), **once per service and due date**: the file
``X.duckdb.freshness.json`` beside the warehouse remembers the due dates already alerted.
The check itself keeps reporting the service late (exit status 9) every day until its
next extract is loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dcrs import alerts, outbox, release
from dcrs.warehouse import open_read_only

DEFAULT_DAYS = 7
DAYS_SETTING = "DCRS_FRESHNESS_DAYS"


class FreshnessConfigError(Exception):
    """``DCRS_FRESHNESS_DAYS`` is set but is not a whole number of days."""


class NoWarehouse(Exception):
    """There is no warehouse to check at the path given."""


def freshness_days(environ: Mapping[str, str] = os.environ) -> int:
    """The days after the due month's end before an extract is late."""
    text = environ.get(DAYS_SETTING, "").strip()
    if not text:
        return DEFAULT_DAYS
    if not text.isdigit():
        raise FreshnessConfigError(
            f"{DAYS_SETTING} must be a whole number of days (0 or more), not {text!r}"
        )
    return int(text)


def _first_of_next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def next_due(latest: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The month the next extract is for (its first day), and the date it is due by: that
    month's last day plus ``days``."""
    next_month = _first_of_next_month(latest)
    month_end = _first_of_next_month(next_month) - dt.timedelta(days=1)
    return next_month, month_end + dt.timedelta(days=days)


@dataclass
class ServiceFreshness:
    """One service of the warehouse: its latest extract and when the next is due."""

    service_code: str
    service_name: str
    latest: dt.date
    next_month: dt.date
    due: dt.date
    late: bool

    @property
    def extract(self) -> alerts.Extract:
        return alerts.Extract(self.service_name, self.service_code, self.latest.isoformat())

    @property
    def next_month_words(self) -> str:
        return f"{self.next_month:%B %Y}"

    def line(self) -> str:
        """One line for the terminal."""
        due = alerts.format_extract_date(self.due.isoformat())
        state = (
            f"LATE: the extract for {self.next_month_words} was due by {due}"
            if self.late
            else f"on time: the extract for {self.next_month_words} is due by {due}"
        )
        return (
            f"{self.service_code}: latest extract {self.extract.date_words}; {state} "
            f"({self.service_name})"
        )


@dataclass
class FreshnessOutcome:
    services: list[ServiceFreshness]
    messages: list[str] = field(default_factory=list)

    @property
    def late(self) -> list[ServiceFreshness]:
        return [service for service in self.services if service.late]


def services(warehouse: Path, today: dt.date, days: int) -> list[ServiceFreshness]:
    """Every service of the warehouse, with its latest extract and whether the next is
    late on ``today``, by service code."""
    if not warehouse.is_file():
        raise NoWarehouse(f"{warehouse}: no such warehouse (give --warehouse)")
    with open_read_only(warehouse) as con:
        (tables,) = con.execute(
            "select count(*) from duckdb_tables() "
            "where schema_name = 'history' and table_name = 'loaded_extracts'"
        ).fetchone()
        if not tables:
            return []
        rows = con.execute(
            """
            select
                service_code,
                arg_max(service_name, extract_date) as service_name,
                max(extract_date) as latest_extract
            from history.loaded_extracts
            group by service_code
            order by service_code
            """
        ).fetchall()
    found = []
    for service_code, service_name, latest in rows:
        next_month, due = next_due(latest, days)
        found.append(
            ServiceFreshness(service_code, service_name, latest, next_month, due, today > due)
        )
    return found


def state_path(warehouse: Path) -> Path:
    """The due dates already alerted, beside the warehouse."""
    return warehouse.with_name(warehouse.name + ".freshness.json")


def _read_state(warehouse: Path) -> dict[str, dict[str, str]]:
    try:
        document = json.loads(state_path(warehouse).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: alerting again is the safe side
    return document if isinstance(document, dict) else {}


def _write_state(warehouse: Path, state: dict[str, dict[str, str]]) -> None:
    path = state_path(warehouse)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)


def write_late_alerts(warehouse: Path, late: list[ServiceFreshness], today: dt.date) -> list[str]:
    """Put into the outbox the emails of each late service not yet alerted for its due
    date (to its managers and to the data engineer), and remember it. Returns a line per
    service."""
    if not late:
        return []
    if not alerts.alerts_configured():
        return [alerts.alerts_off_reason()]
    state = _read_state(warehouse)
    lines = []
    for service in late:
        remembered = state.get(service.service_code, {})
        if remembered.get("due") == service.due.isoformat():
            lines.append(
                f"Late alert for {service.service_code} already sent on "
                f"{remembered.get('alerted_on')} for this due date: not sent again"
            )
            continue
        for audience in (alerts.MANAGER, alerts.ENGINEER):
            message = alerts.compose_late_extract(
                service.extract,
                service.next_month_words,
                service.due,
                today,
                audience,
                str(warehouse),
            )
            outbox.put(release.outbox_folder(warehouse), message, f"late-{audience}")
        state[service.service_code] = {
            "latest_extract": service.latest.isoformat(),
            "due": service.due.isoformat(),
            "alerted_on": today.isoformat(),
        }
        _write_state(warehouse, state)
        lines.append(f"Late alert for {service.service_code} written to the outbox")
    return lines


def check(
    warehouse: Path,
    today: dt.date,
    echo: Callable[[str], None] = print,
    environ: Mapping[str, str] = os.environ,
) -> FreshnessOutcome:
    """Check each service of ``warehouse`` on ``today``: one line per service, an alert
    for each late one (once per due date), then every alert waiting in the outbox sent.
    Raises ``dcrs.pipeline.AlertNotDelivered`` when one could not be sent (it waits)."""
    from dcrs.pipeline import deliver_pending

    outcome = FreshnessOutcome(services(warehouse, today, freshness_days(environ)))
    if not outcome.services:
        echo(f"{warehouse}: no extract loaded yet, nothing to check.")
    for service in outcome.services:
        echo(service.line())
    outcome.messages = write_late_alerts(warehouse, outcome.late, today)
    for line in outcome.messages:
        echo(line)
    for line in deliver_pending(warehouse, echo):
        outcome.messages.append(line)
        echo(line)
    return outcome
