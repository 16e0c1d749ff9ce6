"""The daily freshness check as a Prefect flow: ``dcrs check-freshness`` in a flow.

It runs ``dcrs.freshness.check``, the same code as the command: one log line per service,
an email for each late service (once per due date), and the flow run fails when any
service's extract is late, so the deployment's run history shows it too. Deployed from
``prefect.yaml`` (deployment ``freshness``, daily).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from dcrs import freshness, prefect_runtime, release, settings


class ExtractsLate(Exception):
    """At least one service's next extract is late."""


@flow(name="dcrs-freshness")
def freshness_check(
    warehouse: Path = settings.DEFAULT_WAREHOUSE,
    today: dt.date | None = None,
    smtp_secret_block: str | None = None,
) -> list[dict[str, Any]]:
    """Check, for each service of the warehouse, whether its next extract is late, and
    email the late ones' managers and the data engineer.

    Args:
        warehouse: the published DuckDB file; a relative path is taken from the dbt
            project's folder.
        today: check as on this day (default: today).
        smtp_secret_block: a Prefect Secret block holding the SMTP settings as JSON, as
            for the monthly run (default: ``DCRS_SMTP_SECRET_BLOCK``, else the
            environment's settings).
    """
    logger = get_run_logger()
    warehouse = (settings.project_dir() / warehouse).resolve()
    done = release.recover(warehouse)
    if done:
        logger.info(done)
    block = prefect_runtime.secret_block_name(smtp_secret_block)
    environment = os.environ if block is None else prefect_runtime.load_smtp_environment(block)
    with prefect_runtime.environment_applied(environment):
        outcome = freshness.check(warehouse, today or dt.date.today(), echo=logger.info)
    if outcome.late:
        raise ExtractsLate("; ".join(service.line() for service in outcome.late))
    return [
        {
            "service_code": service.service_code,
            "latest_extract": service.latest.isoformat(),
            "due": service.due.isoformat(),
            "late": service.late,
        }
        for service in outcome.services
    ]


if __name__ == "__main__":
    freshness_check()
