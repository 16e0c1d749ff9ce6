"""Every figure says which period it covers; the projection by days carries an exact
Poisson interval; the London comparison sets the service's counts beside London's year
annualised; the target-ward verdict counts all clients.

The sample covers 12 March 2010 (its first registration) to 31 August 2010 (the extract
date): 173 days, 6 calendar months."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from conftest import ROOT, SAMPLE_EXPORT, SHARED
from report_tables import read_headlines, read_london_table
from scipy.stats import chi2, gamma, poisson

REPORT = SHARED / "spec" / "evaluation-report-2010.txt"
SEED = ROOT / "seeds" / "london_comparison_2009_10.csv"


def garwood(count: int, level: float = 0.95) -> tuple[float, float]:
    """The exact Poisson interval by the chi-squared formula (Garwood 1936)."""
    alpha = 1 - level
    lower = chi2.ppf(alpha / 2, 2 * count) / 2 if count else 0.0
    return lower, chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2


@pytest.mark.fast
def test_garwood_formula_is_the_exact_poisson_interval():
    """The chi-squared formula is the interval whose limits leave 2.5% of the Poisson
    distribution on each side of the count (checked with scipy's Poisson and gamma)."""
    for count in (1, 7, 116, 1000):
        lower, upper = garwood(count)
        assert poisson.sf(count - 1, lower) == pytest.approx(0.025)
        assert poisson.cdf(count, upper) == pytest.approx(0.025)
        assert (lower, upper) == pytest.approx(
            (gamma.ppf(0.025, count), gamma.ppf(0.975, count + 1))
        )


def summary(query, schema: str) -> dict:
    names = (
        "period_start, period_end, days_of_operation, months_of_operation, "
        "clients_registered, projected_clients_12_months, projected_clients_12_months_by_days, "
        "projected_clients_12_months_by_days_lower, projected_clients_12_months_by_days_upper, "
        "projection_interval_level"
    )
    (row,) = query(f"select {names} from {schema}.service_summary")
    return dict(zip(names.split(", "), row, strict=True))


def test_service_summary_states_its_period(query):
    row = summary(query, "marts")
    assert (row["period_start"], row["period_end"]) == (dt.date(2010, 3, 12), dt.date(2010, 8, 31))
    assert row["days_of_operation"] == (dt.date(2010, 8, 31) - dt.date(2010, 3, 12)).days + 1 == 173
    # the first registration in the export, and the manifest's extract date
    with (SAMPLE_EXPORT / "clients.csv").open(newline="", encoding="utf-8") as clients:
        registered = [
            dt.datetime.strptime(client["registration_date"], "%d/%m/%Y").date()
            for client in csv.DictReader(clients)
        ]
    manifest = json.loads((SAMPLE_EXPORT / "manifest.json").read_text(encoding="utf-8"))
    assert row["period_start"] == min(registered)
    assert row["period_end"].isoformat() == manifest["extract_date"]


def test_projection_by_days_with_an_exact_poisson_interval(query):
    row = summary(query, "marts")
    clients, days = row["clients_registered"], row["days_of_operation"]
    # the report's projection by calendar months stays, as printed
    printed = read_headlines(REPORT)["projected_clients_12_months"]
    assert round(row["projected_clients_12_months"]) == printed.value == 232
    # the second, by days: 365 x 116 / 173, with the Garwood interval of 116 scaled alike
    assert row["projection_interval_level"] == 0.95
    lower, upper = garwood(clients)
    assert row["projected_clients_12_months_by_days"] == pytest.approx(365 * clients / days)
    assert row["projected_clients_12_months_by_days_lower"] == pytest.approx(365 * lower / days)
    assert row["projected_clients_12_months_by_days_upper"] == pytest.approx(365 * upper / days)
    shown = (
        round(row["projected_clients_12_months_by_days"]),
        round(row["projected_clients_12_months_by_days_lower"]),
        round(row["projected_clients_12_months_by_days_upper"]),
    )
    assert shown == (245, 202, 294)


def test_published_interval_is_that_of_the_published_count(query):
    row = summary(query, "published")
    exact = summary(query, "marts")
    assert row["period_start"] == dt.date(2010, 3, 12)
    assert row["clients_registered"] == 115 != exact["clients_registered"]
    lower, upper = garwood(115)
    assert row["projected_clients_12_months_by_days_lower"] == pytest.approx(365 * lower / 173)
    assert row["projected_clients_12_months_by_days_upper"] == pytest.approx(365 * upper / 173)


def test_london_comparison_is_annualised_where_a_figure_counts_over_the_period(query):
    with SEED.open(newline="", encoding="utf-8") as seed:
        per_period = {
            row["figure_id"]: row["is_per_period"] == "true" for row in csv.DictReader(seed)
        }
    assert {figure for figure, flag in per_period.items() if flag} == {
        "total_clients",
        "total_phps",
        "clients_per_wte",
        "phps_per_wte",
    }
    printed = read_london_table(REPORT)
    headlines = read_headlines(REPORT)
    for schema in ("marts", "published"):
        rows = query(
            "select figure_id, figure, service_value, is_per_period, months_of_operation, "
            f"service_value_annualised, london_period from {schema}.london_comparison "
            "order by figure_order"
        )
        assert [row[1] for row in rows] == list(printed)
        for figure_id, _, value, is_per_period, months, annualised, london_period in rows:
            assert is_per_period == per_period[figure_id]
            assert months == 6 and london_period == "April 2009 to March 2010"
            expected = value * 12 / months if is_per_period else value
            assert annualised == pytest.approx(expected), (schema, figure_id)
    # annualised, the service's clients and PHPs are the report's 12-month projections
    annualised = dict(
        query("select figure_id, service_value_annualised from marts.london_comparison")
    )
    assert round(annualised["total_clients"]) == headlines["projected_clients_12_months"].value
    assert round(annualised["total_phps"]) == headlines["projected_phps_12_months"].value
    assert round(annualised["clients_per_wte"]) == 43


def test_target_ward_verdict_counts_all_clients(query):
    ((value, status, points, gauge, recorded),) = query(
        "select value, status, points_below_target, gauge_value, percent_of_recorded "
        "from marts.report_headlines where card_id = 'target_wards'"
    )
    printed = read_headlines(REPORT)
    # "Currently this figure stands at 64%, 11% off the target": 75 - 63.8 of all clients
    assert round(value, 1) == printed["target_ward_percent_of_all"].value == 63.8
    assert round(recorded, 1) == 64.9
    assert status == "below" and gauge == value
    assert round(points, 1) == 11.2
