"""marts.monthly_outcomes_seen: outcomes and follow-ups counted from the history of extracts
(issue 18: "an extract keeps only the latest follow-up and outcome of a record ... use the
history of extracts where it sees more").

Three monthly exports of a small generated service are loaded in turn; the third replaces
one goal's outcome with another (a later date), corrects another goal's outcome date (same
outcome), and replaces one client's follow-up with a later one. The extract's own counts
(marts.monthly_activity) lose the replaced outcome and follow-up; the history counts them,
once, in their own months, and does not count the correction twice (seen less the
extract's own: +1 in the replaced events' months, 0 everywhere else).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import connect, rebuild
from exports import read_rows, write_rows

from dcrs.generate import generate

OUTCOMES = ("Achieved", "Part Achieved", "Not Achieved")


def uk_date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d/%m/%Y").date()


def month_of(text: str) -> dt.date:
    return uk_date(text).replace(day=1)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("outcomes_history")
    inbox = folder / "inbox"
    first, second, third = generate(inbox, clients=90, months=3)
    goals_before = {row["goal_id"]: row for row in read_rows(second, "goals.csv")}
    goals = read_rows(third, "goals.csv")
    unchanged = [
        row
        for row in goals
        if row["outcome"] in OUTCOMES and goals_before.get(row["goal_id"]) == row
    ]
    # one goal's outcome replaced by another, later (31 May); another's date corrected
    replaced, corrected = unchanged[0], unchanged[-1]
    assert month_of(replaced["outcome_date"]) != month_of(corrected["outcome_date"])
    new_outcome = "Not Achieved" if replaced["outcome"] != "Not Achieved" else "Achieved"
    changes = {
        replaced["goal_id"]: {"outcome": new_outcome, "outcome_date": "31/05/2010"},
        corrected["goal_id"]: {"outcome_date": "30/05/2010"},
    }
    write_rows(third, "goals.csv", [{**row, **changes.get(row["goal_id"], {})} for row in goals])
    # one client's follow-up replaced by a later one; the client has no other follow-up
    scores = read_rows(third, "wellbeing_scores.csv")
    scores_before = read_rows(second, "wellbeing_scores.csv")
    follow_ups = [row for row in scores if row["stage"] == "follow_up"]
    single = [
        row
        for row in follow_ups
        if row in scores_before
        and sum(other["client_id"] == row["client_id"] for other in follow_ups) == 1
    ]
    follow_up = single[0]
    write_rows(
        third,
        "wellbeing_scores.csv",
        [
            {**row, "recorded_date": "29/05/2010", "score": str(int(row["score"]) + 1)}
            if row is follow_up
            else row
            for row in scores
        ],
    )
    return {
        "warehouse": rebuild(inbox, folder / "dcrs.duckdb"),
        "extracts": [dt.date.fromisoformat(path.name) for path in (first, second, third)],
        "replaced": replaced,
        "corrected": corrected,
        "follow_up": follow_up,
    }


def seen(warehouse: Path, extract: dt.date) -> dict[dt.date, tuple]:
    with connect(warehouse) as con:
        rows = con.execute(
            """
            select
                month,
                extracts_loaded,
                goal_outcomes_seen - goal_outcomes_recorded,
                goals_achieved_or_part_achieved_seen - goals_achieved_or_part_achieved,
                wellbeing_follow_ups_seen - wellbeing_follow_ups_recorded
            from marts.monthly_outcomes_seen
            where extract_date = ?
            """,
            [extract],
        ).fetchall()
    return {month: rest for month, *rest in rows}


def test_before_any_replacement_the_history_sees_what_the_extract_holds(history):
    for number, extract in enumerate(history["extracts"][:2], start=1):
        rows = seen(history["warehouse"], extract)
        assert rows, extract
        assert {tuple(row) for row in rows.values()} == {(number, 0, 0, 0)}


def test_a_replaced_outcome_and_follow_up_are_counted_once_in_their_months(history):
    rows = seen(history["warehouse"], history["extracts"][2])
    replaced, follow_up = history["replaced"], history["follow_up"]
    expected = {month: [3, 0, 0, 0] for month in rows}
    expected[month_of(replaced["outcome_date"])][1] += 1
    if replaced["outcome"] in ("Achieved", "Part Achieved"):
        expected[month_of(replaced["outcome_date"])][2] += 1
    expected[month_of(follow_up["recorded_date"])][3] += 1
    # the corrected date moves its outcome to May in both counts: no difference anywhere
    assert {month: list(row) for month, row in rows.items()} == expected
