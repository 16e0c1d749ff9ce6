"""Print the monitoring figures of docs/monitoring.md from a warehouse, as markdown tables:
marts.monthly_activity, a few of marts.spc's charts, and marts.spc's totals.

    .venv/bin/python scripts/monitoring_figures.py WAREHOUSE
"""

from __future__ import annotations

import sys

import duckdb

QUERIES = [
    """
    select
        month, clients_registered, clients_assessed, phps_started, goals_set,
        goal_outcomes_recorded, goals_achieved_or_part_achieved, wellbeing_follow_ups_recorded
    from marts.monthly_activity
    order by month
    """,
    """
    select
        indicator_id,
        any_value(chart_points) as points,
        round(any_value(mean), 1) as mean,
        round(any_value(lower_process_limit), 1) as lower_limit,
        round(any_value(upper_process_limit), 1) as upper_limit,
        count(rule) as special_cause_points,
        any_value(variation_icon) as variation_icon,
        any_value(assurance_icon) as assurance_icon
    from marts.spc
    where indicator_id in (
        'clients_registered', 'phps_started', 'goals_achieved_percent',
        'capture_disability', 'capture_bmi', 'capture_referral_source_other'
    )
    group by indicator_id
    order by any_value(indicator_order)
    """,
    """
    select
        count(*) as spc_rows,
        count(rule) as special_cause_points,
        count(distinct indicator_id) as charts,
        count(warning) as rows_with_warning
    from marts.spc
    """,
]


def markdown(con: duckdb.DuckDBPyConnection, query: str) -> str:
    relation = con.sql(query)
    lines = ["| " + " | ".join(relation.columns) + " |"]
    lines.append("| " + " | ".join("---" for _ in relation.columns) + " |")
    for row in relation.fetchall():
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    return "\n".join(lines)


def main(warehouse: str) -> None:
    with duckdb.connect(warehouse, read_only=True) as con:
        print("\n\n".join(markdown(con, query) for query in QUERIES))


if __name__ == "__main__":
    main(sys.argv[1])
