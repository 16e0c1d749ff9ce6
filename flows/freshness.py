"""The daily freshness check as a Prefect flow: ``dcrs check-freshness`` in a flow.

It runs ``dcrs.freshness.check``, the same code as the command: one log line per service,
an email for each late service (once per due date), and the flow run fails when any
service's extract is late, so the deployment's run history shows it too. Deployed from
``prefect.yaml`` (deployment ``freshness``, daily).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from dcrs import freshness, release, settings


class ExtractsLate(Exception):
    """At least one service's next extract is late."""


@flow(name="dcrs-freshness")
def freshness_check(
    warehouse: Path = settings.DEFAULT_WAREHOUSE, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Check, for each service of the warehouse, whether its next extract is late, and
    email the late ones' managers and the data engineer.

    Args:
        warehouse: the published DuckDB file; a relative path is taken from the dbt
            project's folder.
        today: check as on this day (default: today).
    """
    logger = get_run_logger()
    warehouse = (settings.project_dir() / warehouse).resolve()
    done = release.recover(warehouse)
    if done:
        logger.info(done)
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
