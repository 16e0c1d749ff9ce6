"""The bundled sample reproduces every table of section 7.1 of the 2010 evaluation.

Expected values are read from the report's own text (tests/report_tables.py); the
marts are built by the real pipeline from the bundled sample export.
"""

from __future__ import annotations

import pytest
from conftest import SHARED
from mart_contract import check_mart_contract, narrowed_to_contract
from report_tables import label_key, read_london_table, read_tables

REPORT = SHARED / "spec" / "evaluation-report-2010.txt"
TABLES = read_tables(REPORT)


def test_the_report_has_every_measure_table():
    assert len(TABLES) == 19


def breakdown(query, measure_id: str) -> dict[str, tuple]:
    rows = query(
        """
        select category, n, denominator, percent, benchmark_percent, category_order
        from marts.measure_breakdown where measure_id = ?
        order by category_order
        """,
        [measure_id],
    )
    return {label_key(row[0]): row for row in rows}


@pytest.mark.parametrize("measure_id", sorted(TABLES))
def test_measure_reproduces_report_table(query, measure_id):
    table = TABLES[measure_id]
    ours = breakdown(query, measure_id)
    printed_keys = []
    for row in table.rows:
        key = label_key(row.label)
        printed_keys.append(key)
        assert key in ours, f"{measure_id}: no category {row.label!r}"
        category, n, denominator, percent, benchmark, _ = ours[key]
        assert n == row.count, f"{measure_id} {row.label}: n {n}, report {row.count}"
        assert denominator == table.total, f"{measure_id}: denominator {denominator}"
        assert abs(percent - row.percent) <= 0.05 + 1e-9, (
            f"{measure_id} {row.label}: {percent:.3f}% prints as {row.percent}%"
        )
        if row.benchmark is not None:
            assert benchmark == pytest.approx(row.benchmark), f"{measure_id} {row.label}"
    # the printed rows come in our category order
    orders = [ours[key][5] for key in printed_keys]
    assert orders == sorted(orders), f"{measure_id}: categories out of the report's order"
    # what the report leaves out is empty or excluded from the denominator
    for key, (category, n, denominator, *_rest) in ours.items():
        if key not in printed_keys:
            assert n == 0 or denominator is None, f"{measure_id}: unprinted {category} has {n}"


def test_numbers_of_clients_and_eligibility(query):
    gender = breakdown(query, "gender")
    assert gender["female"][1] == 85
    assert gender["male"][1] == 31
    eligibility = breakdown(query, "eligibility")
    assert eligibility["eligible"][1] == 111
    assert round(eligibility["eligible"][3], 1) == 95.7


def test_headline_figures(query):
    (row,) = query(
        """
        select clients_registered, women, men, eligible_clients, clients_with_php, goals_set,
            goals_with_outcome, health_trainers_in_post, total_wte, months_of_operation,
            clients_per_wte, php_to_client_ratio, phps_per_wte, projected_clients_12_months,
            projected_phps_12_months, projected_clients_per_wte_12_months,
            year_one_client_target, target_clients_per_wte, clients_in_target_wards,
            target_ward_percent_of_all, target_ward_percent_of_recorded,
            most_deprived_two_quintiles_percent, goals_achieved_or_part_percent
        from marts.service_summary
        """
    )
    (
        clients,
        women,
        men,
        eligible,
        phps,
        goals,
        with_outcome,
        trainers,
        wte,
        months,
        per_wte,
        ratio,
        phps_per_wte,
        projected_clients,
        projected_phps,
        projected_per_wte,
        target,
        target_per_wte,
        in_target_wards,
        target_all,
        target_recorded,
        deprived,
        achieved,
    ) = row
    assert (clients, women, men, eligible, phps, goals) == (116, 85, 31, 111, 99, 256)
    assert (with_outcome, trainers, months) == (118, 6, 6)
    assert round(wte, 1) == 5.4
    assert round(per_wte, 1) == 21.5
    assert round(ratio, 2) == 0.85
    assert round(phps_per_wte, 1) == 18.3
    assert round(projected_clients) == 232
    assert round(projected_phps) == 198
    assert round(projected_per_wte) == 43
    assert target == 500 and round(target_per_wte) == 93
    assert in_target_wards == 74
    # the report's "63.8% (74/114)": 63.8% is of all clients, 64.9% of those with a ward
    assert round(target_all, 1) == 63.8
    assert round(target_recorded, 1) == 64.9
    assert round(deprived, 1) == 84.5
    assert round(achieved, 1) == 90.7


def test_london_comparison(query):
    printed = read_london_table(REPORT)
    rows = query(
        """
        select figure, service_value, london_services, london_first_year_services,
            london_six_month_service
        from marts.london_comparison order by figure_order
        """
    )
    assert [row[0] for row in rows] == list(printed)
    for figure, *values in rows:
        for value, cell in zip(values, printed[figure], strict=True):
            decimals = len(cell.split(".")[1]) if "." in cell else 0
            assert round(value, decimals) == pytest.approx(float(cell)), (figure, value, cell)


def test_london_ratios_agree_with_their_totals():
    """The transcribed London ratios are what their own totals give."""
    cells = read_london_table(REPORT)
    for column in range(1, 4):
        clients, wte, phps = (
            float(cells[name][column])
            for name in ("Total Clients", "Total WTE HTs/THTs", "Total PHPs conducted")
        )
        assert round(clients / wte, 1) == float(
            cells["Average Number of Clients seen per WTE"][column]
        )
        assert round(phps / clients, 2) == float(cells["PHP to client ratio"][column])
        assert round(phps / wte, 1) == float(cells["No of PHPs per WTE"][column])


def test_data_capture_finds_what_the_evaluation_found(query):
    below = query(
        "select field, recorded, total, percent from marts.data_capture "
        "where not meets_threshold order by field"
    )
    assert [
        (field, recorded, total, round(percent, 1)) for field, recorded, total, percent in below
    ] == [
        ("bmi", 92, 111, 82.9),
        ("disability", 67, 116, 57.8),
        ("primary_health_issue", 101, 111, 91.0),
        ("signposted_to", 42, 116, 36.2),
    ]


def test_sample_loads_with_nothing_rejected(query):
    rows = query(
        "select file_name, rows_read, rows_staged, rows_rejected, reconciles "
        "from audit.load_reconciliation order by file_name"
    )
    assert rows == [
        ("clients.csv", 116, 116, 0, True),
        ("goals.csv", 256, 256, 0, True),
        ("health_trainers.csv", 6, 6, 0, True),
        ("wellbeing_scores.csv", 170, 170, 0, True),
    ]
    assert query("select count(*) from audit.load_issues") == [(0,)]


def test_mart_contract(sample_warehouse, tmp_path):
    # checked on its own columns: measure_breakdown has more (tests/mart_contract.py)
    result = check_mart_contract(narrowed_to_contract(sample_warehouse, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mart contract: 0 breaches" in result.stdout
