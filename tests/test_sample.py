"""The bundled sample's designed joint relations (docs/sample.md, scripts/make_sample_export.py
relate()): obese clients set diet and exercise goals at least as often as others, and older
clients are more often disabled. Read from the export's files, as the generator checks them:
every table of section 7.1 still reproduces (tests/test_report_reproduction.py)."""

from __future__ import annotations

import csv
from datetime import date, datetime

import pytest
from conftest import SAMPLE_EXPORT
from scipy.stats import fisher_exact

pytestmark = pytest.mark.fast

OBESE_FROM = 30  # BMI 30 and above: the report's "obese" (7.1.11)
OLDER_FROM = 46  # the age bands 46 - 55 and above


def rows(file_name: str) -> list[dict[str, str]]:
    with (SAMPLE_EXPORT / file_name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def parse_day(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


def goal_types() -> dict[str, set[str]]:
    types: dict[str, set[str]] = {}
    for goal in rows("goals.csv"):
        kind = goal["goal"].replace("\u2013", "-").split("-")[0].strip()
        types.setdefault(goal["client_id"], set()).add(kind)
    return types


def table(group: list[bool], others: list[bool]) -> list[list[int]]:
    return [[sum(group), len(group) - sum(group)], [sum(others), len(others) - sum(others)]]


@pytest.mark.parametrize("kind", ["Diet", "Exercise"])
def test_obese_clients_set_diet_and_exercise_goals_no_less_often(kind):
    types = goal_types()
    measured = [client for client in rows("clients.csv") if client["bmi"]]
    sets_goal = [kind in types.get(client["client_id"], set()) for client in measured]
    obese = [
        goal
        for client, goal in zip(measured, sets_goal, strict=True)
        if float(client["bmi"]) >= OBESE_FROM
    ]
    others = [
        goal
        for client, goal in zip(measured, sets_goal, strict=True)
        if float(client["bmi"]) < OBESE_FROM
    ]
    assert (len(obese), len(obese) + len(others)) == (37, 92)  # the report's 37 of 92
    # higher, and not significantly lower (one-sided Fisher exact test)
    assert sum(obese) / len(obese) > sum(others) / len(others), (sum(obese), sum(others))
    _, p_lower = fisher_exact(table(obese, others), alternative="less")
    assert p_lower > 0.05


def test_older_clients_are_more_often_disabled():
    older, younger = [], []
    for client in rows("clients.csv"):
        if not client["disability"] or not client["date_of_birth"][:1].isdigit():
            continue
        born, registered = (
            parse_day(client["date_of_birth"]),
            parse_day(client["registration_date"]),
        )
        age = (
            registered.year
            - born.year
            - ((registered.month, registered.day) < (born.month, born.day))
        )
        (older if age >= OLDER_FROM else younger).append(client["disability"] == "Disabled")
    assert sum(older) / len(older) > sum(younger) / len(younger)
    _, p_greater = fisher_exact(table(older, younger), alternative="greater")
    assert p_greater < 0.05, (sum(older), len(older), sum(younger), len(younger))
