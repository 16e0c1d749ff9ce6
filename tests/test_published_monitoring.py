"""The monthly monitoring tables in the published schema (issue 18; docs/disclosure.md,
docs/monitoring.md): published.monthly_activity, spc and inequalities under the
disclosure rule, the SPC charts drawn from the controlled monthly counts, no trainer in
any published table, and the secondary-disclosure attack extended to every new table and
every identity between them and the older tables."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, connect

from dcrs import disclosure
from dcrs.disclosure import (
    Catalogue,
    Rule,
    attack,
    attack_warehouse,
    check_identities,
    extract_identities,
    protect,
    publish,
    read_cells,
)

RULE = Rule(7, 5)
SERVICE, EXTRACT = "X", "2010-08-31"
MONTHS = ["2010-04-01", "2010-05-01", "2010-06-01", "2010-07-01", "2010-08-01"]


# --- the sample ------------------------------------------------------------------------


def test_the_published_sample_gives_no_suppressed_count_back(sample_warehouse: Path) -> None:
    result, _ = attack_warehouse(sample_warehouse)
    attacked = {key[2] for key in result.bounds}
    # the new tables' suppressed counts are among those attacked
    assert {"monthly_activity", "inequalities"} <= attacked
    assert result.exact == []


def test_the_new_identities_hold_for_the_true_counts(sample_warehouse: Path) -> None:
    with connect(sample_warehouse) as con:
        cells, catalogue = read_cells(con, "marts"), Catalogue.read(con)
    identities = extract_identities(cells, catalogue)
    labels = " | ".join(identity.label for identity in identities)
    for expected in (
        "registrations",  # a month's registrations are month_first_seen's category
        "monthly goals_set <= goals_set",  # the months add up to at most the total
        "reach deprivation_quintile n",  # each dimension's groups add up alike
        "goal_achieved_or_part gender denominator",
    ):
        assert expected in labels
    assert check_identities(cells, identities) == []


def test_published_monthly_counts_follow_the_rule(sample_warehouse: Path) -> None:
    with connect(sample_warehouse) as con:
        rows = con.execute(
            """select marts.goals_set, published.goals_set, marts.phps_started,
                   published.phps_started
            from marts.monthly_activity as marts
            inner join published.monthly_activity as published
                using (service_code, extract_date, month)"""
        ).fetchall()
    assert len(rows) == 6
    for row in rows:
        for true, shown in (row[:2], row[2:]):
            assert shown == RULE.publish(true) or (shown is None and true > 0)


def xmr(values: list[float]) -> tuple[float, float, float]:
    """mean, lower and upper process limits of an XmR chart, as NHSRplotthedots draws it
    by default: moving ranges of 3.267 x their mean or more are left out of the average."""
    mean = sum(values) / len(values)
    ranges = [abs(b - a) for a, b in zip(values, values[1:], strict=False)]
    average = sum(ranges) / len(ranges)
    kept = [each for each in ranges if each < 3.267 * average]
    screened = sum(kept) / len(kept)
    return mean, mean - 2.66 * screened, mean + 2.66 * screened


def test_published_spc_is_drawn_from_the_controlled_monthly_counts(
    sample_warehouse: Path,
) -> None:
    with connect(sample_warehouse) as con:
        controlled = [
            float(row[0])
            for row in con.execute(
                "select clients_registered from published.monthly_activity order by month"
            ).fetchall()
        ]
        chart = con.execute(
            """select distinct mean, lower_process_limit, upper_process_limit, chart_status,
                   chart_points
            from published.spc where indicator_id = 'clients_registered'"""
        ).fetchall()
        true_mean = con.execute(
            "select distinct mean from marts.spc where indicator_id = 'clients_registered'"
        ).fetchall()
        withheld = con.execute(
            """select indicator_id, withheld_reason, count(mean), count(value)
            from published.spc where chart_status = 'withheld' group by all order by all"""
        ).fetchall()
    assert len(chart) == 1
    mean, lower, upper, status, points = chart[0]
    assert (status, points) == ("published", 6)
    assert (mean, lower, upper) == pytest.approx(xmr(controlled))
    # not the true counts' chart: its mean (116 / 6) would give the total back
    assert true_mean[0][0] != pytest.approx(mean)
    # PHPs started (a suppressed month) and goals achieved (a month with no outcome, a
    # suppressed one) keep too few points: the values are shown, the chart is withheld
    assert [(row[0], row[2]) for row in withheld] == [
        ("goals_achieved_percent", 0),
        ("phps_started", 0),
    ]
    assert all(row[1].startswith("fewer than 6 months") and row[3] > 0 for row in withheld)


def test_published_inequalities_intervals_come_from_the_controlled_counts(
    sample_warehouse: Path,
) -> None:
    with connect(sample_warehouse) as con:
        rows = con.execute(
            """select n, denominator, percent, ci_lower, ci_upper
            from published.inequalities where n is not null and denominator > 0"""
        ).fetchall()
        unknown = con.execute(
            "select count(*) from published.inequalities where not is_comparable"
        ).fetchone()[0]
    assert len(rows) > 50 and unknown > 0
    z = 1.959963984540054
    for n, denominator, percent, lower, upper in rows:
        p = n / denominator
        centre = (p + z * z / (2 * denominator)) / (1 + z * z / denominator)
        half = (
            z
            * ((p * (1 - p) / denominator + z * z / (4 * denominator**2)) ** 0.5)
            / (1 + z * z / denominator)
        )
        assert percent == pytest.approx(100 * p)
        assert (lower, upper) == pytest.approx((100 * (centre - half), 100 * (centre + half)))


def test_published_inequality_indices_come_from_the_controlled_counts(
    sample_warehouse: Path,
) -> None:
    with connect(sample_warehouse) as con:
        rows = dict(
            con.execute(
                "select indicator_id, withheld_reason from published.inequality_indices"
            ).fetchall()
        )
        records = con.execute(
            """select published.records, marts.records, controlled.total
            from published.inequality_indices as published
            inner join marts.inequality_indices as marts
                using (service_code, extract_date, indicator_id)
            cross join (
                select sum(n) as total from published.inequalities
                where indicator_id = 'reach' and dimension = 'deprivation_quintile'
                    and is_comparable
            ) as controlled
            where indicator_id = 'reach'"""
        ).fetchone()
    # a quintile suppressed: nothing to compute from; reach's records are the sum of the
    # controlled quintile counts (120), not the true one (114)
    assert rows["goal_achieved_or_part"] == "a deprivation quintile's count is suppressed"
    assert records[0] == records[2] != records[1]


def test_no_trainer_in_any_published_table(sample_warehouse: Path) -> None:
    with connect(sample_warehouse) as con:
        trainers = {
            row[0]
            for row in con.execute(
                "select distinct health_trainer_id from marts.funnel_trainers"
            ).fetchall()
        }
        columns = con.execute(
            """select table_name, column_name from information_schema.columns
            where table_schema = 'published' and data_type = 'VARCHAR'"""
        ).fetchall()
        assert trainers
        assert not [name for _, name in columns if "trainer_id" in name]
        for table, column in columns:
            found = con.execute(
                f'select count(*) from published."{table}" where "{column}" in '
                "(select unnest(?::varchar[]))",
                [sorted(trainers)],
            ).fetchone()[0]
            assert found == 0, (table, column)
        tables = {row[0] for row in columns}
    assert not {"funnel_trainers", "data_capture_by_group"} & tables


@pytest.mark.xdist_group("monitoring_service")
def test_thirteen_monthly_extracts_give_nothing_back(monitoring_warehouse: Path) -> None:
    """The generated service's 13 extracts, loaded in turn: every identity (within each
    extract and across them) holds for the true counts, and the attack on all the
    published tables of all 13 together recovers no suppressed count."""
    with connect(monitoring_warehouse) as con:
        cells, catalogue = read_cells(con, "marts"), Catalogue.read(con)
    assert cells.extract_date.nunique() == 13
    identities = extract_identities(cells, catalogue)
    across = [each for each in identities if len({key[1] for key in each.terms}) == 2]
    assert across and check_identities(cells, identities) == []
    result, _ = attack_warehouse(monitoring_warehouse)
    assert {"monthly_activity", "inequalities"} <= {key[2] for key in result.bounds}
    assert result.exact == []


# --- a constructed case: a month given back by the cumulative total --------------------


def monthly_cells(goals: list[int], total: int) -> pd.DataFrame:
    """One extract: the summary's goals set, and the goals set in each month."""
    rows = [("service_summary", SERVICE, "goals_set", total)]
    rows += [
        ("monthly_activity", month, "goals_set", count)
        for month, count in zip(MONTHS, goals, strict=True)
    ]
    cells = pd.DataFrame(
        [
            {
                "service_code": SERVICE,
                "extract_date": EXTRACT,
                "table_name": table,
                "row_key": row,
                "column_name": column,
                "measure_id": None,
                "category": None,
                "excluded": False,
                "value": float(value),
            }
            for table, row, column, value in rows
        ]
    )
    cells["key"] = list(
        zip(
            cells.service_code,
            cells.extract_date,
            cells.table_name,
            cells.row_key,
            cells.column_name,
            strict=True,
        )
    )
    return cells


@pytest.mark.fast
def test_a_suppressed_month_given_back_by_the_total_is_protected() -> None:
    # 42 goals (published 40: 38 to 42) in the extract; one month of 38 (published 40)
    # and four of 1 (suppressed): the months add up to at most the total, so each
    # suppressed month is at most 42 - 38 - 3 = 1: all four are given back
    cells = monthly_cells([38, 1, 1, 1, 1], 42)
    identities = extract_identities(cells, Catalogue({}, {}))
    assert [identity.label for identity in identities] == ["monthly goals_set <= goals_set"]
    result = attack(publish(cells, RULE, set()), identities, RULE)
    assert [key[3] for key in result.exact] == MONTHS[1:]
    assert {result.bounds[key] for key in result.exact} == {(1, 1)}
    # protection suppresses the other month (never the total), and nothing is pinned
    chosen = protect(cells, identities, RULE, (SERVICE, EXTRACT), set())
    assert set(chosen) == {(SERVICE, EXTRACT, "monthly_activity", MONTHS[0], "goals_set")}
    protected = attack(publish(cells, RULE, set(chosen)), identities, RULE, set(chosen))
    assert protected.exact == []


@pytest.mark.fast
def test_without_the_monthly_identities_the_attack_sees_nothing() -> None:
    # the attacker before this change: the same cells with no identity between the months
    # and the total bounds each suppressed month to 1 to 7 only
    cells = monthly_cells([38, 1, 1, 1, 1], 42)
    assert attack(publish(cells, RULE, set()), [], RULE).exact == []


@pytest.mark.fast
def test_the_monthly_counts_are_those_the_macro_controls() -> None:
    macro = (ROOT / "macros" / "disclosure.sql").read_text()
    body = macro.split("macro disclosure_monthly_activity_counts()")[1].split("endmacro")[0]
    assert tuple(re.findall(r"'(\w+)'", body)) == disclosure.MONTHLY_COUNTS


@pytest.mark.fast
def test_an_earlier_extracts_count_pinned_by_this_one_is_protected_in_this_one() -> None:
    # six counts of 1 published (suppressed) with an earlier extract, beside a count of 8
    # (published 10: 8 to 12) of that extract; this extract adds a count of 28 (published
    # 30) and a total over all of them of 42 (published 40: 38 to 42): the six are at most
    # 42 - 8 - 28 = 6 together, so each is 1. The earlier extract is published and stays
    # as it was: the complement must be a count of this one (the 28), not the 8, which
    # protect used to choose and then stop the build on
    earlier, later = "2010-07-31", EXTRACT

    def cell(extract: str, table: str, row: str) -> tuple:
        return (SERVICE, extract, table, row, "n")

    values = {cell(earlier, "measure_breakdown", f"m / small{i}"): 1 for i in range(6)}
    values[cell(earlier, "measure_breakdown", "m / other")] = 8
    values[cell(later, "measure_breakdown", "m / big")] = 28
    total = cell(later, "service_summary", SERVICE)
    values[total] = 42
    cells = pd.DataFrame(
        [{"key": key, "extract_date": key[1], "value": value} for key, value in values.items()]
    )
    identities = [
        disclosure.Identity(
            {total: 1} | {key: -1 for key in values if key != total},
            "==",
            "total",
            frozenset({total}),
        )
    ]
    result = attack(publish(cells, RULE, set()), identities, RULE)
    assert len(result.exact) == 6
    chosen = protect(cells, identities, RULE, (SERVICE, later), set())
    assert set(chosen) == {cell(later, "measure_breakdown", "m / big")}
    assert attack(publish(cells, RULE, set(chosen)), identities, RULE, set(chosen)).exact == []
