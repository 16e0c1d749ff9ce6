"""No secondary disclosure (issue 16, finding 5; docs/disclosure.md): an attacker who takes
every published count and every identity between them, within an extract and across the
extracts of a service, and bounds each suppressed count with an integer program
(dcrs.disclosure), recovers none exactly: on the sample, on a warehouse holding the sample
and a generated service, and across two months of that service.

Before complementary suppression the same attack on the sample recovered four suppressed
counts exactly (signposting: recorded 40 in data capture, "Not required" 40, so the four
suppressed destinations are each 1); the test below rebuilds that attack from the marts."""

from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import ROOT, connect, copy_warehouse, run_dcrs

from dcrs import disclosure
from dcrs.disclosure import (
    Catalogue,
    DisclosureError,
    Identity,
    Rule,
    attack,
    attack_warehouse,
    check_identities,
    extract_identities,
    protect,
    publish,
    read_cells,
)
from dcrs.generate import generate

# the published tables the attacker reads: every table of schema published that holds a
# count of its own (the report views, the suppression log and metadata hold none)
ATTACKED_TABLES = set(disclosure.PUBLISHED_TABLES)
# published.spc and inequality_indices are computed from published.monthly_activity's and
# inequalities' controlled counts: no count of their own
NOT_ATTACKED = {"data_quality_results", "suppression_log", "spc", "inequality_indices"}


def true_cells(warehouse: Path) -> tuple[pd.DataFrame, Catalogue, Rule]:
    with connect(warehouse) as con:
        return read_cells(con, "marts"), Catalogue.read(con), disclosure.rule_of(con)


@pytest.fixture(scope="module")
def two_services(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample's warehouse with two monthly extracts of a generated service
    (S001) loaded after it: two services, and a history of extracts."""
    work = tmp_path_factory.mktemp("disclosure")
    exports = [
        export
        for export in generate(work / "exports", clients=600, services=2, months=2)
        if export.parent.name == "S001"
    ]
    warehouse = copy_warehouse(sample_warehouse, work / "dcrs.duckdb")
    for export in exports:
        result = run_dcrs(export, warehouse)
        assert result.returncode == 0, result.stdout + result.stderr
    return warehouse


def test_the_sample_gives_no_suppressed_count_back(sample_warehouse: Path) -> None:
    result, _ = attack_warehouse(sample_warehouse)
    # 98 in the tables of issues 8 and 16, 62 in published.monthly_activity and
    # inequalities (issue 18)
    assert len(result.primary) == 160
    assert result.exact == []
    # what the attacker still learns: counts narrowed below 1 to 7, none to one value
    # (the wellbeing outcomes' paired and improved counts narrow one more than the other
    # tables alone; the monitoring tables 11 more)
    assert len(result.narrowed) == 19
    # one complementary suppression, listed in the published suppression log
    assert [key[3] for key in result.complementary] == ["signposting / Not required"]


def test_before_complementary_suppression_four_counts_were_given_back(
    sample_warehouse: Path,
) -> None:
    cells, catalogue, rule = true_cells(sample_warehouse)
    identities = extract_identities(cells, catalogue)
    unprotected = publish(cells, rule, set())
    result = attack(unprotected, identities, rule)
    assert [key[3] for key in result.exact] == [
        "signposting / Community / voluntary services",
        "signposting / Emotional wellbeing services",
        "signposting / Health Trainer services",
        "signposting / Local authority services",
    ]
    assert {result.bounds[key] for key in result.exact} == {(1, 1)}


def test_the_identities_hold_for_the_true_counts(sample_warehouse: Path, two_services) -> None:
    """The attacker's identities are facts: the true counts satisfy every one (else the
    attack could 'recover' values that are not the true ones, or miss real ones)."""
    for warehouse in (sample_warehouse, two_services):
        cells, catalogue, _ = true_cells(warehouse)
        with connect(warehouse) as con:
            verdicts = disclosure.verdict_identities(con, "marts")
        for code, service in cells.groupby("service_code"):
            identities = extract_identities(service, catalogue)
            assert len(identities) > 90
            identities += [each for each in verdicts if next(iter(each.terms))[0] == code]
            assert check_identities(service, identities) == []


def test_a_generated_service_over_two_months_gives_nothing_back(two_services: Path) -> None:
    with connect(two_services) as con:
        extracts = con.execute(
            "select service_code, count(distinct extract_date) from published.measure_breakdown "
            "group by all order by all"
        ).fetchall()
    assert extracts == [("KC", 1), ("S001", 2)]
    cells, catalogue, _ = true_cells(two_services)
    across = [
        identity
        for identity in extract_identities(cells, catalogue)
        if len({key[1] for key in identity.terms}) == 2
    ]
    assert len(across) >= 3  # the cumulative counts of S001 link its two extracts
    result, per_service = attack_warehouse(two_services)
    assert len(per_service) == 2
    assert len(result.primary) > 200
    assert result.exact == []


def test_the_cli_prints_a_summary_without_values(sample_warehouse: Path, capsys) -> None:
    assert disclosure.main([str(sample_warehouse)]) == 0
    printed = capsys.readouterr().out
    assert "exactly recovered 0" in printed
    assert "signposting" not in printed


def test_every_published_count_table_is_attacked(sample_warehouse: Path) -> None:
    """A new published table must be added to the attacker (docs/disclosure.md, "Adding a
    published table") or listed here as holding no count of its own."""
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'published' and table_type = 'BASE TABLE'"
            ).fetchall()
        }
    assert tables - NOT_ATTACKED - {"indicator_metadata"} <= ATTACKED_TABLES
    assert tables >= ATTACKED_TABLES


def counts_giving(mean: float, step: int, counts: range, decimals: int | None) -> list[int]:
    """The paired counts n for which some whole number of change steps S gives the mean:
    step * S / n equal to it (decimals None) or rounding to it."""
    found = []
    for n in counts:
        nearest = round(mean * n / step)
        for total in (nearest - 1, nearest, nearest + 1):
            value = step * total / n
            # DuckDB's round: halves away from zero
            rounded = math.copysign(math.floor(abs(value) + 0.5), value)
            if (abs(value - mean) < 1e-9) if decimals is None else rounded == mean:
                found.append(n)
                break
    return found


def test_a_published_mean_change_does_not_give_its_count_back(sample_warehouse: Path) -> None:
    """A mean of whole-number changes at full precision names its count among those the
    rounded count allows; the published mean (whole points) fits every one of them."""
    with connect(sample_warehouse) as con:
        rows = con.execute(
            """select published.instrument, published.clients_paired, published.mean_change,
                   marts.mean_change, instruments.percent_per_raw_point
            from published.wellbeing_outcomes as published
            inner join marts.wellbeing_outcomes as marts
                using (service_code, extract_date, instrument)
            inner join reference.wellbeing_instruments as instruments using (instrument)
            where published.mean_change is not null"""
        ).fetchall()
    assert len(rows) == 3
    pinned_at_full_precision = 0
    for _instrument, published_paired, published_mean, true_mean, step in rows:
        possible = range(int(published_paired) - 2, int(published_paired) + 3)
        assert published_mean == round(published_mean)
        assert counts_giving(published_mean, int(step), possible, 0) == list(possible)
        pinned_at_full_precision += len(counts_giving(true_mean, int(step), possible, None)) == 1
    # what rounding prevents: the unrounded means pin the count
    assert pinned_at_full_precision >= 1


# --- unit tests ------------------------------------------------------------------------


@pytest.mark.fast
def test_the_summary_counts_are_those_the_macro_controls() -> None:
    macro = (ROOT / "macros" / "disclosure.sql").read_text()
    body = macro.split("macro disclosure_service_summary_counts()")[1].split("endmacro")[0]
    assert tuple(re.findall(r"'(\w+)'", body)) == disclosure.SUMMARY_COUNTS


@pytest.mark.fast
@pytest.mark.parametrize(("suppress_max", "base"), [(7, 5), (10, 10), (2, 3)])
def test_each_count_lies_within_the_bounds_of_what_the_rule_publishes(
    suppress_max: int, base: int
) -> None:
    rule = Rule(suppress_max, base)
    for count in range(suppress_max + 1, 500):
        low, high = rule.rounded_bounds(rule.publish(count))
        assert low <= count <= high
        assert rule.publish(low) == rule.publish(high) == rule.publish(count)
        assert rule.publish(low - 1) != rule.publish(count)
        assert rule.publish(high + 1) != rule.publish(count)


def cells_of(values: dict[str, float]) -> pd.DataFrame:
    rows = []
    for name, value in values.items():
        table, row = name.split(":")
        key = ("X", "2010-01-31", table, row, "n")
        rows.append({"key": key, "value": value, "extract_date": "2010-01-31"})
    return pd.DataFrame(rows)


def key(name: str) -> tuple:
    table, row = name.split(":")
    return ("X", "2010-01-31", table, row, "n")


@pytest.mark.fast
def test_a_pinned_count_is_protected_by_the_smallest_other_category() -> None:
    # a total of 42 (published 40: 38 to 42) = 38 (published 40) + 1 + 1 + 1 + 1 (as
    # signposting in the sample): each suppressed 1 is pinned; suppressing the 38 (the
    # smallest other category, and not the total) protects them
    values = {"service_summary:total": 42, "measure_breakdown:big": 38}
    values |= {f"measure_breakdown:small{i}": 1 for i in range(4)}
    cells = cells_of(values)
    identities = [
        Identity(
            {key("service_summary:total"): 1} | {key(n): -1 for n in values if "measure" in n},
            "==",
            "sum",
            frozenset({key("service_summary:total")}),
        )
    ]
    rule = Rule(7, 5)
    assert len(attack(publish(cells, rule, set()), identities, rule).exact) == 4
    chosen = protect(cells, identities, rule, ("X", "2010-01-31"), set())
    assert set(chosen) == {key("measure_breakdown:big")}
    assert attack(publish(cells, rule, set(chosen)), identities, rule, set(chosen)).exact == []


@pytest.mark.fast
def test_a_count_only_a_total_could_protect_stops_the_build() -> None:
    values = {"service_summary:total": 12, "data_capture:recorded": 8}
    values |= {f"measure_breakdown:small{i}": 1 for i in range(4)}
    cells = cells_of(values)
    identities = [
        Identity(
            {key("service_summary:total"): 1} | {key(n): -1 for n in values if "total" not in n},
            "==",
            "sum",
            frozenset({key("service_summary:total")}),
        )
    ]
    with pytest.raises(DisclosureError, match="only a total could be suppressed"):
        protect(cells, identities, Rule(7, 5), ("X", "2010-01-31"), set())


def growth_cell(extract: str, name: str) -> tuple:
    table, row = name.split(":")
    return ("X", extract, table, row, "n")


@pytest.mark.fast
def test_a_count_pinned_through_a_later_extract_is_protected_in_that_extract() -> None:
    """August: 39 clients (published 40: 38 to 42), 38 of one gender (40) and 1 of
    another (suppressed: 1 to 4 from August alone). September adds 13 clients in its new
    month (published 15: 13 to 17) to 52 (50: 48 to 52); the earlier months' counts cannot
    fall, so August had at most 52 - 13 = 39 clients, and the 1 is pinned. The 1 is
    August's, already published: September's smallest month is suppressed instead (its
    floor is then the threshold's, 8). Before, the build stopped: only a total could be
    suppressed."""
    august, september = "2010-08-31", "2010-09-30"
    values = {
        (august, "service_summary:total"): 39,
        (august, "measure_breakdown:month_first_seen / March"): 19,
        (august, "measure_breakdown:month_first_seen / April"): 20,
        (august, "measure_breakdown:gender / Female"): 38,
        (august, "measure_breakdown:gender / Male"): 1,
        (september, "service_summary:total"): 52,
        (september, "measure_breakdown:month_first_seen / March"): 19,
        (september, "measure_breakdown:month_first_seen / April"): 20,
        (september, "measure_breakdown:month_first_seen / May"): 13,
        (september, "measure_breakdown:gender / Female"): 51,
        (september, "measure_breakdown:gender / Male"): 1,
    }
    cells = pd.DataFrame(
        [
            {"key": growth_cell(extract, name), "value": value, "extract_date": extract}
            for (extract, name), value in values.items()
        ]
    )

    def total_of(extract: str, prefix: str) -> Identity:
        total = growth_cell(extract, "service_summary:total")
        parts = [growth_cell(e, n) for e, n in values if e == extract and n.startswith(prefix)]
        return Identity({total: 1} | {part: -1 for part in parts}, "==", prefix, frozenset({total}))

    identities = [
        total_of(extract, prefix)
        for extract in (august, september)
        for prefix in ("measure_breakdown:month_first_seen", "measure_breakdown:gender")
    ] + [
        Identity({growth_cell(september, name): 1, growth_cell(august, name): -1}, ">=", name)
        for name in (
            "service_summary:total",
            "measure_breakdown:month_first_seen / March",
            "measure_breakdown:month_first_seen / April",
        )
    ]
    rule = Rule(7, 5)
    small = growth_cell(august, "measure_breakdown:gender / Male")
    august_alone = cells[cells.extract_date == august]
    august_identities = [i for i in identities if all(k[1] == august for k in i.terms)]
    assert attack(publish(august_alone, rule, set()), august_identities, rule).exact == []
    assert attack(publish(cells, rule, set()), identities, rule).exact == [small]
    chosen = protect(cells, identities, rule, ("X", september), set())
    assert set(chosen) == {growth_cell(september, "measure_breakdown:month_first_seen / May")}
    assert attack(publish(cells, rule, set(chosen)), identities, rule, set(chosen)).exact == []
