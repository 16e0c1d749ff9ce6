"""Outcomes a commissioner can trust (issue 16, findings 3 and 4).

Finding 3: goal intervals assumed goals independent, but a client's goals go together
(118 goal outcomes from 47 clients); goal measures' intervals now use a cluster-robust
design effect (int_goal_design_effects), and the service summary has a client-level
headline. Finding 4: clients with only a baseline wellbeing score vanished silently;
marts.wellbeing_outcomes counts them. Each figure is checked against an independent
calculation in Python from the export's own rows.
"""

from __future__ import annotations

import csv
import math
import re
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE_EXPORT, connect, outputs_of, run_dcrs
from exports import read_rows, write_rows
from scipy import stats

Z = 1.959963984540054  # seeds/confidence_levels.csv, ci_95
PERCENT_PER_RAW_POINT = {"self_efficacy": 1, "general_health": 1, "who5": 4}


def wilson(numerator: float, denominator: float) -> tuple[float, float]:
    """The Wilson score interval on the percent scale (as macros/statistics.sql)."""
    p = numerator / denominator
    centre = p + Z**2 / (2 * denominator)
    half = Z * math.sqrt(p * (1 - p) / denominator + Z**2 / (4 * denominator**2))
    scale = 1 + Z**2 / denominator
    return 100 * (centre - half) / scale, 100 * (centre + half) / scale


def wellbeing_by_hand(export: Path) -> dict[str, dict]:
    """marts.wellbeing_outcomes computed from wellbeing_scores.csv with the standard
    library and scipy."""
    scores: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    with (export / "wellbeing_scores.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            scale = PERCENT_PER_RAW_POINT[row["instrument"]]
            scores[row["instrument"]][row["client_id"]][row["stage"]] = float(row["score"]) * scale
    figures = {}
    for instrument, clients in scores.items():
        changes = [
            stages["follow_up"] - stages["baseline"]
            for stages in clients.values()
            if {"baseline", "follow_up"} <= stages.keys()
        ]
        n = len(changes)
        improved = sum(change > 0 for change in changes)
        mean = statistics.fmean(changes)
        half = stats.t.ppf(stats.norm.cdf(Z), n - 1) * statistics.stdev(changes) / math.sqrt(n)
        baseline = sum("baseline" in stages for stages in clients.values())
        figures[instrument] = {
            "clients_with_baseline": baseline,
            "clients_with_follow_up": sum("follow_up" in stages for stages in clients.values()),
            "clients_paired": n,
            "follow_up_percent": 100 * n / baseline,
            "improved": improved,
            "improved_percent": 100 * improved / n,
            "improved_ci": wilson(improved, n),
            "mean_change": mean,
            "mean_change_ci": (mean - half, mean + half),
        }
    return figures


def wellbeing_outcomes(warehouse: Path) -> dict[str, dict]:
    with connect(warehouse) as con:
        cursor = con.execute("select * from marts.wellbeing_outcomes")
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {row["instrument"]: row for row in rows}


# --- finding 4: wellbeing outcomes and their completeness -------------------------------


def test_wellbeing_outcomes_match_an_independent_calculation(sample_warehouse):
    expected = wellbeing_by_hand(SAMPLE_EXPORT)
    built = wellbeing_outcomes(sample_warehouse)
    assert set(built) == {"self_efficacy", "general_health", "who5"} == set(expected)
    for instrument, want in expected.items():
        row = built[instrument]
        for column in ("clients_with_baseline", "clients_with_follow_up", "clients_paired"):
            assert row[column] == want[column], (instrument, column)
        assert row["improved"] == want["improved"], instrument
        assert row["follow_up_percent"] == pytest.approx(want["follow_up_percent"])
        assert row["improved_percent"] == pytest.approx(want["improved_percent"])
        assert (row["improved_ci_lower"], row["improved_ci_upper"]) == pytest.approx(
            want["improved_ci"], rel=1e-6
        )
        assert row["mean_change"] == pytest.approx(want["mean_change"])
        assert (row["mean_change_ci_lower"], row["mean_change_ci_upper"]) == pytest.approx(
            want["mean_change_ci"], rel=1e-9
        )


def test_clients_with_only_a_baseline_are_counted_not_lost(export_copy, tmp_path):
    """Five WHO-5 follow-ups removed: the five clients stay among those with a baseline,
    leave the paired clients, and the follow-up percent falls."""
    before = wellbeing_by_hand(SAMPLE_EXPORT)["who5"]
    rows = read_rows(export_copy, "wellbeing_scores.csv")
    follow_ups = [
        index
        for index, row in enumerate(rows)
        if row["instrument"] == "who5" and row["stage"] == "follow_up"
    ]
    dropped = set(follow_ups[:5])
    write_rows(
        export_copy,
        "wellbeing_scores.csv",
        [row for index, row in enumerate(rows) if index not in dropped],
    )
    warehouse = tmp_path / "warehouse" / "dcrs.duckdb"
    result = run_dcrs(export_copy, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    row = wellbeing_outcomes(warehouse)["who5"]
    assert row["clients_with_baseline"] == before["clients_with_baseline"]
    assert row["clients_paired"] == before["clients_paired"] - 5
    assert row["clients_with_follow_up"] == before["clients_with_follow_up"] - 5
    assert row["follow_up_percent"] == pytest.approx(
        100 * (before["clients_paired"] - 5) / before["clients_with_baseline"]
    )
    assert row["follow_up_percent"] < before["follow_up_percent"]
    # and the change table's population is the paired clients
    with connect(warehouse) as con:
        ((denominator,),) = con.execute(
            "select max(denominator) from marts.measure_breakdown where measure_id = 'who5_change'"
        ).fetchall()
    assert denominator == row["clients_paired"]


# --- finding 3: goal intervals that allow for a client's goals going together -----------

GOAL_OUTCOMES = ("Achieved", "Part Achieved", "Not Achieved")


def goal_outcomes_by_client(warehouse: Path) -> tuple[list[str], np.ndarray]:
    """The goals with an outcome, as a clients x outcomes matrix of counts, from the
    validated goals."""
    with connect(warehouse) as con:
        rows = con.execute(
            "select client_id, outcome from intermediate.int_goals_validated "
            "where outcome in ('Achieved', 'Part Achieved', 'Not Achieved')"
        ).fetchall()
    clients = sorted({client for client, _ in rows})
    index = {client: position for position, client in enumerate(clients)}
    counts = np.zeros((len(clients), len(GOAL_OUTCOMES)))
    for client, outcome in rows:
        counts[index[client], GOAL_OUTCOMES.index(outcome)] += 1
    return clients, counts


def cluster_design_effects(counts: np.ndarray) -> np.ndarray:
    """Each column's share of the row totals as a ratio estimator with rows as clusters:
    its cluster-robust (linearised) variance over the binomial variance."""
    y = counts
    m = counts.sum(axis=1, keepdims=True)
    k = len(counts)
    p = y.sum(axis=0) / m.sum()
    residuals = y - p * m
    v_cluster = k / (k - 1) * (residuals**2).sum(axis=0) / m.sum() ** 2
    v_binomial = p * (1 - p) / m.sum()
    return v_cluster / v_binomial


def goal_breakdown(warehouse: Path, schema: str) -> dict[str, dict]:
    with connect(warehouse) as con:
        cursor = con.execute(
            f"select * from {schema}.measure_breakdown where measure_id = 'goal_outcome'"
        )
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {row["category"]: row for row in rows}


def goal_design_effects(warehouse: Path, column: str = "design_effect") -> dict[str, float]:
    with connect(warehouse) as con:
        return dict(
            con.execute(
                f"select category, {column} from marts.goal_design_effects "
                "where measure_id = 'goal_outcome'"
            ).fetchall()
        )


def test_goal_outcomes_are_47_clients_clustered(sample_warehouse):
    clients, counts = goal_outcomes_by_client(sample_warehouse)
    assert (len(clients), int(counts.sum())) == (47, 118)


def test_goal_design_effects_match_an_independent_calculation(sample_warehouse):
    _, counts = goal_outcomes_by_client(sample_warehouse)
    expected = cluster_design_effects(counts)
    built = goal_design_effects(sample_warehouse, "design_effect_estimated")
    assert set(built) == set(GOAL_OUTCOMES)
    for position, outcome in enumerate(GOAL_OUTCOMES):
        assert built[outcome] == pytest.approx(expected[position], rel=1e-9), outcome
    # the sample's goals go together for two outcomes: a wider interval than the binomial
    assert max(expected) > 1


def test_goal_intervals_use_the_effective_counts(sample_warehouse):
    _, counts = goal_outcomes_by_client(sample_warehouse)
    design_effects = np.maximum(cluster_design_effects(counts), 1.0)
    breakdown = goal_breakdown(sample_warehouse, "marts")
    built = goal_design_effects(sample_warehouse)
    widened = 0
    for position, outcome in enumerate(GOAL_OUTCOMES):
        row = breakdown[outcome]
        deff = design_effects[position]
        n, denominator = counts[:, position].sum(), counts.sum()
        assert (row["n"], row["denominator"]) == (n, denominator)
        assert built[outcome] == pytest.approx(deff)
        assert (row["ci_lower"], row["ci_upper"]) == pytest.approx(
            wilson(n / deff, denominator / deff), rel=1e-6
        )
        binomial = wilson(n, denominator)
        assert row["ci_upper"] - row["ci_lower"] >= binomial[1] - binomial[0] - 1e-9
        widened += deff > 1
    assert widened >= 1
    # client measures keep their intervals on the counts themselves
    with connect(sample_warehouse) as con:
        gender = con.execute(
            "select n, denominator, ci_lower, ci_upper from marts.measure_breakdown "
            "where measure_id = 'gender' and denominator > 0"
        ).fetchall()
    for n, denominator, lower, upper in gender:
        assert (lower, upper) == pytest.approx(wilson(n, denominator), rel=1e-6, abs=1e-9)


def test_published_goal_intervals_use_the_design_effect(sample_warehouse):
    """The published interval is computed from the published (controlled) counts over the
    same design effect: the earlier attempt left it binomial."""
    design_effects = goal_design_effects(sample_warehouse)
    published = goal_breakdown(sample_warehouse, "published")
    for outcome in GOAL_OUTCOMES:
        row, deff = published[outcome], design_effects[outcome]
        assert (row["ci_lower"], row["ci_upper"]) == pytest.approx(
            wilson(row["n"] / deff, row["denominator"] / deff), rel=1e-6
        )
    assert "design_effect" not in published["Achieved"]


# --- the client-level goal headline --------------------------------------------------------


def test_client_level_goal_headline(sample_warehouse):
    clients, counts = goal_outcomes_by_client(sample_warehouse)
    achieved = int((counts[:, :2].sum(axis=1) > 0).sum())
    with connect(sample_warehouse) as con:
        ((with_outcome, achieved_or_part, percent),) = con.execute(
            "select clients_with_goal_outcome, clients_achieved_or_part, "
            "clients_achieved_or_part_percent from marts.service_summary"
        ).fetchall()
        ((card_value, numerator, denominator),) = con.execute(
            "select value, numerator, denominator from marts.report_headlines "
            "where card_id = 'clients_achieved'"
        ).fetchall()
    assert (with_outcome, achieved_or_part) == (len(clients), achieved) == (47, 46)
    assert percent == pytest.approx(100 * 46 / 47)
    assert (card_value, numerator, denominator) == (percent, 46, 47)


def test_published_wellbeing_outcomes_derive_from_controlled_counts(sample_warehouse):
    with connect(sample_warehouse) as con:
        cursor = con.execute("select * from published.wellbeing_outcomes")
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    marts = wellbeing_outcomes(sample_warehouse)
    assert {row["instrument"] for row in rows} == set(marts)
    for row in rows:
        for column in ("clients_with_baseline", "clients_paired", "improved"):
            assert row[column] % 5 == 0, (row["instrument"], column)
        assert row["follow_up_percent"] == pytest.approx(
            100 * row["clients_paired"] / row["clients_with_baseline"]
        )
        assert row["improved_percent"] == pytest.approx(
            100 * row["improved"] / row["clients_paired"]
        )
        assert (row["improved_ci_lower"], row["improved_ci_upper"]) == pytest.approx(
            wilson(row["improved"], row["clients_paired"]), rel=1e-6
        )
        # rounded to whole points (a mean at full precision gives its count back)
        assert row["mean_change"] == round(row["mean_change"])
        assert row["mean_change"] == pytest.approx(marts[row["instrument"]]["mean_change"], abs=0.5)


# --- the report ------------------------------------------------------------------------


def page_text(warehouse: Path, name: str) -> str:
    html = (outputs_of(warehouse) / name).read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_report_shows_wellbeing_outcomes_and_completeness(sample_warehouse):
    text = page_text(sample_warehouse, "report.html")
    assert "Wellbeing outcomes, 12 March 2010 to 31 August 2010" in text
    # the change tables say how many had a baseline and how many were followed up
    for baseline in (30, 26, 29):
        assert (
            f"{baseline} clients had a baseline score; {baseline} of them (100.0%) "
            "were followed up" in text
        )
    # the outcomes table: WHO-5, 25 of 29 improved (86.2%, 69.4 to 94.5), +28.0 (20.0 to 36.0)
    assert re.search(
        r"WHO-5 wellbeing \(table 7\.1\.16\) 29 29 \(100\.0%\) 25 \(86\.2%\) "
        r"69\.4 to 94\.5 \+28\.0 20\.0 to 36\.0",
        text,
    )
    # the client-level headline card
    assert "46 of 47 clients with a goal outcome had at least one goal achieved" in text


def test_published_report_shows_controlled_wellbeing_outcomes(sample_warehouse):
    text = page_text(sample_warehouse, "report-published.html")
    assert "Wellbeing outcomes, 12 March 2010 to 31 August 2010" in text
    assert re.search(r"General health \(table 7\.1\.15\) 25 25 \(100\.0%\) 25 \(100\.0%\)", text)
    assert "45 of 45 clients with a goal outcome had at least one goal achieved" in text
