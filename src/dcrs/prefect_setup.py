"""Set up the Prefect server for the deployments: the email notification block and the
automations that email the data engineer when a monthly run fails, crashes or is late,
and when a daily freshness check crashes or is late. Run it after ``prefect deploy``, and
again whenever the settings change: it updates what it made before and never makes a
second copy.

    .venv/bin/python -m dcrs.prefect_setup [--deployment dcrs-monthly/monthly]
        [--freshness-deployment dcrs-freshness/freshness]
        [--to engineer@example.org] [--smtp-secret-block NAME]

The SMTP server comes from the Secret block named by ``--smtp-secret-block`` (or
``DCRS_SMTP_SECRET_BLOCK``), else from the ``DCRS_SMTP_*`` and ``DCRS_ALERT_FROM``
settings of the environment, as for the run's own alerts. The recipients are ``--to``,
else ``DCRS_ENGINEER_TO`` (comma-separated). The automations run on the server: they
email even when no worker is running, which is when a run is late.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from dcrs import alerts, prefect_runtime

DEFAULT_DEPLOYMENT = "dcrs-monthly/monthly"
FRESHNESS_DEPLOYMENT = "dcrs-freshness/freshness"
NOTIFICATION_BLOCK = "dcrs-engineer-email"
ENGINEER_VARIABLE = "DCRS_ENGINEER_TO"

FAILED_AUTOMATION = "dcrs: a run failed or crashed"
LATE_AUTOMATION = "dcrs: a run is late"
FRESHNESS_CRASHED_AUTOMATION = "dcrs: a freshness check crashed"

FAILED_SUBJECT = "DCRS pipeline: run {{ flow_run.name }} {{ flow_run.state.name }}"
FAILED_BODY = """\
The run {{ flow_run.name }} of the deployment {{ flow.name }}/{{ deployment.name }} \
ended {{ flow_run.state.name }}.

{{ flow_run.state.message }}

Nothing was published by this run: the warehouse and its reports are as they were.
Flow run id: {{ flow_run.id }}; scheduled for {{ flow_run.expected_start_time }}.

What to do: read the run's logs in the Prefect UI (or `prefect flow-run logs \
{{ flow_run.id }}`), and the "When a run fails" section of docs/operations.md. \
Crashed means the run's process died (killed, out of memory, the machine restarted): \
run the deployment again.
"""

FRESHNESS_CRASHED_BODY = """\
The run {{ flow_run.name }} of the deployment {{ flow.name }}/{{ deployment.name }} \
ended {{ flow_run.state.name }}: the daily check that each service's extract has arrived \
did not finish, so a late extract may not have been emailed about.

{{ flow_run.state.message }}

What to do: read the run's logs in the Prefect UI (or `prefect flow-run logs \
{{ flow_run.id }}`), then run `dcrs check-freshness` by hand or the deployment again.
Flow run id: {{ flow_run.id }}.
"""

LATE_SUBJECT = "DCRS pipeline: run {{ flow_run.name }} is late"
LATE_BODY = """\
The run {{ flow_run.name }} of the deployment {{ flow.name }}/{{ deployment.name }} \
was due at {{ flow_run.expected_start_time }} and has not started.

No worker has picked it up: check that the worker service is running \
(`systemctl status dcrs-prefect-worker`, docs/operations.md) and polls the work pool \
{{ flow_run.work_pool_name }}. Once a worker runs, it starts the run.
Flow run id: {{ flow_run.id }}.
"""


class SetupError(Exception):
    """The set-up cannot be done with the settings given."""


def security_of(settings: alerts.SmtpSettings) -> str:
    """The notification block's connection security for the run's SMTP settings: TLS from
    the start on port 465, STARTTLS when asked for (or by default with a login), else
    none."""
    if settings.port == alerts.IMPLICIT_TLS_PORT:
        return "ssl"
    if settings.starttls is True:
        return "starttls"
    if settings.starttls is None and settings.user is not None and not settings.allow_plaintext:
        return "starttls"
    return "none"


def block_fields(environment: Mapping[str, str], recipients: Sequence[str]) -> dict[str, Any]:
    """The notification block's fields, from SMTP settings in environment form (the
    run's ``DCRS_SMTP_*`` settings) and the engineer's addresses."""
    if not recipients:
        raise SetupError(
            f"no address to email: give --to, or set {ENGINEER_VARIABLE} (the data "
            "engineer's address, comma-separated for several)"
        )
    # the recipients of the run's alerts are the service manager's: the block has its own
    settings = alerts.SmtpSettings.from_environment(
        {**environment, "DCRS_ALERT_TO": ",".join(recipients)}
    )
    if settings is None:
        raise SetupError(
            "no SMTP server: set DCRS_SMTP_HOST (and DCRS_ALERT_FROM), or name a Secret "
            f"block with --smtp-secret-block or {prefect_runtime.SECRET_BLOCK_VARIABLE}"
        )
    return {
        "smtp_host": settings.host,
        "smtp_port": settings.port,
        "security": security_of(settings),
        "username": settings.user,
        "password": settings.password,
        "from_address": settings.sender,
        "to_addresses": list(settings.recipients),
    }


def _recipients(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def automations(deployment_id: UUID, block_id: UUID, freshness_id: UUID | None = None) -> list[Any]:
    """The automations, as Prefect objects (not yet saved).

    ``freshness_id``, the freshness deployment's, adds its runs: a late one (no worker
    runs, so no extract's lateness can be found either) and a crashed one email the
    engineer. Its failed runs do not: one fails every day while an extract is late, and
    that is emailed once per due date by the check itself.
    """
    from prefect.automations import Automation, EventTrigger, Posture, SendNotification

    def on(events: set[str], *deployments: UUID) -> EventTrigger:
        return EventTrigger(
            expect=events,
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={
                "prefect.resource.id": [f"prefect.deployment.{each}" for each in deployments]
            },
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        )

    watched = [deployment_id] if freshness_id is None else [deployment_id, freshness_id]
    found = [
        Automation(
            name=FAILED_AUTOMATION,
            description="Emails the data engineer when a run of the DCRS deployment fails "
            "or crashes (dcrs.prefect_setup).",
            trigger=on({"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}, deployment_id),
            actions=[
                SendNotification(
                    block_document_id=block_id, subject=FAILED_SUBJECT, body=FAILED_BODY
                )
            ],
        ),
        Automation(
            name=LATE_AUTOMATION,
            description="Emails the data engineer when a run of the DCRS deployments "
            "(the monthly run, the daily freshness check) has not started on time (no "
            "worker is running) (dcrs.prefect_setup).",
            trigger=on({"prefect.flow-run.Late"}, *watched),
            actions=[
                SendNotification(block_document_id=block_id, subject=LATE_SUBJECT, body=LATE_BODY)
            ],
        ),
    ]
    if freshness_id is not None:
        found.append(
            Automation(
                name=FRESHNESS_CRASHED_AUTOMATION,
                description="Emails the data engineer when a run of the daily freshness "
                "check crashes (dcrs.prefect_setup).",
                trigger=on({"prefect.flow-run.Crashed"}, freshness_id),
                actions=[
                    SendNotification(
                        block_document_id=block_id,
                        subject=FAILED_SUBJECT,
                        body=FRESHNESS_CRASHED_BODY,
                    )
                ],
            )
        )
    return found


def save_automation(automation: Any) -> str:
    """Create the automation, or update the one of the same name (removing any copies)."""
    from prefect.automations import AutomationCore
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(automation.name)
        if not existing:
            client.create_automation(AutomationCore(**automation.model_dump(exclude={"id"})))
            return f"created the automation {automation.name!r}"
        first, *copies = existing
        client.update_automation(
            first.id, AutomationCore(**automation.model_dump(exclude={"id", "owner_resource"}))
        )
        for copy in copies:
            client.delete_automation(copy.id)
        return f"updated the automation {automation.name!r}"


def set_up(
    deployment: str = DEFAULT_DEPLOYMENT,
    recipients: Sequence[str] = (),
    secret_block: str | None = None,
    environ: Mapping[str, str] = os.environ,
    freshness: str = FRESHNESS_DEPLOYMENT,
) -> list[str]:
    """Register the block type, save the notification block and the automations; returns
    what was done, a line each."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from dcrs.prefect_blocks import SmtpEmail

    block_name = prefect_runtime.secret_block_name(secret_block, environ)
    environment = (
        dict(environ)
        if block_name is None
        else prefect_runtime.load_smtp_environment(block_name, environ)
    )
    fields = block_fields(
        environment, list(recipients) or _recipients(environ.get(ENGINEER_VARIABLE))
    )
    done = []
    freshness_id = None
    with get_client(sync_client=True) as client:
        try:
            found = client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            raise SetupError(
                f"no deployment {deployment!r} on the server: run `prefect deploy --all` first"
            ) from None
        try:
            freshness_id = client.read_deployment_by_name(freshness).id
        except ObjectNotFound:
            done.append(f"no deployment {freshness!r} on the server: its runs are not watched")
    SmtpEmail.register_type_and_schema()
    block_id = SmtpEmail(**fields).save(NOTIFICATION_BLOCK, overwrite=True)
    done.append(
        f"saved the notification block {NOTIFICATION_BLOCK!r} (email to "
        f"{', '.join(fields['to_addresses'])} through {fields['smtp_host']}:"
        f"{fields['smtp_port']}, security {fields['security']})"
    )
    for automation in automations(found.id, block_id, freshness_id):
        done.append(save_automation(automation))
    return done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dcrs.prefect_setup",
        description="Save the email notification block and the automations that email the "
        "data engineer when a monthly run fails, crashes or is late, or a freshness check "
        "crashes or is late. Safe to "
        "run again: it updates what it made.",
    )
    parser.add_argument(
        "--deployment",
        default=DEFAULT_DEPLOYMENT,
        help=f"FLOW/DEPLOYMENT (default {DEFAULT_DEPLOYMENT})",
    )
    parser.add_argument(
        "--freshness-deployment",
        default=FRESHNESS_DEPLOYMENT,
        help=f"the daily freshness check's FLOW/DEPLOYMENT (default {FRESHNESS_DEPLOYMENT})",
    )
    parser.add_argument(
        "--to",
        help=f"the data engineer's address(es), comma-separated (default ${ENGINEER_VARIABLE})",
    )
    parser.add_argument(
        "--smtp-secret-block",
        help="a Secret block holding the SMTP settings as JSON (default "
        f"${prefect_runtime.SECRET_BLOCK_VARIABLE}, else the DCRS_SMTP_* variables)",
    )
    options = parser.parse_args(argv)
    try:
        done = set_up(
            options.deployment,
            _recipients(options.to),
            options.smtp_secret_block,
            freshness=options.freshness_deployment,
        )
    except (SetupError, alerts.AlertConfigError, prefect_runtime.PrefectSettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in done:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
