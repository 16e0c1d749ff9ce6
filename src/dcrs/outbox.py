"""Alerts that survive a crash: each email is written to an outbox before it is sent, and
removed only once the SMTP server has accepted it.

A run's quality alert is written into its build folder and moves into the outbox
(``X.duckdb.outbox/`` beside the warehouse) with the rest of the release, so publishing
and the alert happen together or not at all; a failure alert is written straight into the
outbox. ``deliver`` then sends whatever is pending, oldest first, and the next run (or
``dcrs run-inbox`` with nothing new to load) delivers what a crash or a mail outage left.
An email may thus arrive twice (a kill after the server accepted it and before the file
was removed), never not at all.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from dcrs import alerts

SUFFIX = ".eml"


def put(folder: Path, message: EmailMessage, kind: str) -> Path:
    """Write ``message`` into ``folder`` whole or not at all; returns its file."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-{kind}-{uuid.uuid4().hex[:8]}{SUFFIX}"
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        handle.write(message.as_bytes(policy=email.policy.SMTP))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return path


def pending(folder: Path) -> list[Path]:
    """The alerts waiting in an outbox, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.suffix == SUFFIX)


def deliver(folder: Path, log: Callable[[str], None] = print) -> list[str]:
    """Send every pending alert of the outbox ``folder``, oldest first, removing each once
    sent. Returns one line per alert sent. Raises AlertConfigError (unusable settings) or
    AlertDeliveryError (the server could not be reached or refused it) and leaves the rest
    waiting; returns nothing when alerts are off."""
    waiting = pending(folder)
    if not waiting:
        return []
    settings = alerts.SmtpSettings.from_environment()
    if settings is None:
        return [f"{len(waiting)} alert(s) wait in {folder}: {alerts.alerts_off_reason()}"]
    sent = []
    for path in waiting:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        recipients = alerts.send(message, settings, log=log)
        path.unlink()
        if recipients:
            sent.append(f"alert sent to {', '.join(recipients)}: {message['Subject']}")
        else:
            sent.append(
                f"not sent separately (its recipients get the engineer's email): "
                f"{message['Subject']}"
            )
    return sent
