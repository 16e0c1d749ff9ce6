"""Disclosure control of the published schema, and its Parquet copies with their manifest.

The rule (measures.md, "Disclosure control for published outputs"): 0 stays 0; 1 to
disclosure_suppress_max (7) is suppressed, shown '*'; every other count is rounded to the
nearest disclosure_rounding_base (5); percentages come from the rounded figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from conftest import connect, copy_warehouse, run_dbt

from dcrs.parquet import export_parquet, verify_manifest

SUPPRESS_MAX = 7
BASE = 5

PUBLISHED_TABLES = {
    "measure_breakdown",
    "service_summary",
    "data_capture",
    "london_comparison",
    "suppression_log",
    "data_quality_results",
    "wellbeing_outcomes",
    "indicator_metadata",
    # the monthly monitoring tables (issue 18; models/published/monitoring)
    "monthly_activity",
    "spc",
    "inequalities",
    "inequality_indices",
}
# views over the published tables, for report-published.html (models/published/report)
PUBLISHED_REPORT_VIEWS = {
    "report_extracts",
    "report_headlines",
    "report_measures",
    "report_measure_categories",
    "report_data_capture",
    "report_capture_trend",
    "report_london_comparison",
    "report_disclosure_rule",
    "report_wellbeing_outcomes",
    "report_attention",
    "report_activity",
    # the Monthly monitoring section (macros/report_monitoring.sql); no funnel plot
    "report_spc",
    "report_spc_charts",
    "report_inequalities",
    "report_inequality_indices",
}
# views of each service's latest extract in the published tables (models/published/latest)
PUBLISHED_LATEST_VIEWS = {
    "latest_measure_breakdown",
    "latest_service_summary",
    "latest_data_capture",
}

SUMMARY_COUNTS = [
    "clients_registered",
    "women",
    "men",
    "eligible_clients",
    "clients_with_php",
    "goals_set",
    "goals_with_outcome",
    "clients_in_target_wards",
    "clients_with_ward_recorded",
    "clients_in_two_most_deprived_quintiles",
    "goals_achieved_or_part",
    "clients_with_goal_outcome",
    "clients_achieved_or_part",
]

# Every count of clients or goals in the published schema: (table, key columns, column).
COUNT_CELLS = [
    ("measure_breakdown", "measure_id || ' / ' || category", "n"),
    ("measure_breakdown", "measure_id || ' / ' || category", "denominator"),
    *[("service_summary", "service_code", column) for column in SUMMARY_COUNTS],
    ("data_capture", "field", "recorded"),
    ("data_capture", "field", "total"),
    ("london_comparison", "figure_id", "service_value"),
    *[
        ("wellbeing_outcomes", "instrument", column)
        for column in (
            "clients_with_baseline",
            "clients_with_follow_up",
            "clients_paired",
            "improved",
        )
    ],
]
MONTHLY_COUNTS = [
    "clients_registered",
    "clients_assessed",
    "phps_started",
    "goals_set",
    "goal_outcomes_recorded",
    "goals_achieved_or_part_achieved",
    "wellbeing_follow_ups_recorded",
]
COUNT_CELLS += [("monthly_activity", "month::varchar", column) for column in MONTHLY_COUNTS]
INEQUALITY_KEY = "indicator_id || ' / ' || dimension || ' / ' || group_name"
COUNT_CELLS += [("inequalities", INEQUALITY_KEY, column) for column in ("n", "denominator")]
LONDON_COUNTS = ("total_clients", "total_phps")
COMPLEMENTARY = "complementary suppression: suppressed so that no count of 1 to 7 can be worked out"

FORBIDDEN_COLUMN = re.compile(
    r"(birth|\bdob\b|^postcode$|full_postcode|postcode_full|^client_id$|^goal_id$)", re.I
)
FULL_POSTCODE = re.compile(r"\b(GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})\b", re.I)
UK_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")


def round_half_up(count: int, base: int = BASE) -> int:
    return (2 * count + base) // (2 * base) * base


def fetch(database: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with connect(database) as con:
        return con.execute(sql, parameters or []).fetchall()


def published_counts(database: Path) -> list[tuple[str, str, str, object]]:
    """(table, row, column, published value) for every client or goal count."""
    cells = []
    with connect(database) as con:
        for table, key, column in COUNT_CELLS:
            where = f"where figure_id in {LONDON_COUNTS}" if table == "london_comparison" else ""
            if column == "denominator":
                # excluded categories (reach's groups left out) have no denominator
                where = (
                    "where has_denominator"
                    if table == "inequalities"
                    else "where denominator_display is not null"
                )
            rows = con.execute(f"select {key}, {column} from published.{table} {where}").fetchall()
            cells += [(table, row_key, column, value) for row_key, value in rows]
    return cells


def true_counts(database: Path) -> dict[tuple[str, str, str], int]:
    """The marts' counts behind published_counts, by (table, row, column)."""
    counts = {}
    with connect(database) as con:
        for table, key, column in COUNT_CELLS:
            where = f"where figure_id in {LONDON_COUNTS}" if table == "london_comparison" else ""
            if column == "denominator":
                where = "where denominator is not null"
            for row_key, value in con.execute(
                f"select {key}, {column} from marts.{table} {where}"
            ).fetchall():
                counts[(table, row_key, column)] = int(value)
    return counts


def gender(database: Path) -> dict[str, tuple]:
    rows = fetch(
        database,
        "select category, n, n_display, is_suppressed, denominator, percent "
        "from published.measure_breakdown where measure_id = 'gender'",
    )
    return {row[0]: row[1:] for row in rows}


# --- the rule on the sample -------------------------------------------------------------


def test_published_schema_holds_exactly_the_published_tables(sample_warehouse):
    tables = fetch(
        sample_warehouse,
        "select table_name, table_type from information_schema.tables "
        "where table_schema = 'published'",
    )
    assert {name for name, kind in tables if kind == "BASE TABLE"} == PUBLISHED_TABLES
    assert {name for name, kind in tables if kind == "VIEW"} == (
        PUBLISHED_REPORT_VIEWS | PUBLISHED_LATEST_VIEWS
    )


def test_no_published_count_lies_in_1_to_7(sample_warehouse):
    cells = published_counts(sample_warehouse)
    assert len(cells) > 300
    small = [cell for cell in cells if cell[3] is not None and 1 <= cell[3] <= SUPPRESS_MAX]
    assert small == []


def test_every_published_count_is_0_a_multiple_of_5_or_suppressed(sample_warehouse):
    cells = published_counts(sample_warehouse)
    bad = [
        cell
        for cell in cells
        if cell[3] is not None
        and not (cell[3] >= 0 and cell[3] == int(cell[3]) and cell[3] % BASE == 0)
    ]
    assert bad == []
    # suppressed cells are shown as '*' and flagged
    rows = fetch(
        sample_warehouse,
        "select n, n_display, is_suppressed, denominator, denominator_display "
        "from published.measure_breakdown",
    )
    for n, n_display, is_suppressed, denominator, denominator_display in rows:
        assert (n is None) == is_suppressed == (n_display == "*")
        assert n_display == ("*" if n is None else str(n))
        if denominator is not None:
            assert denominator_display == str(denominator)
        else:
            assert denominator_display in (None, "*")


def test_each_count_follows_the_rule(sample_warehouse):
    truth = true_counts(sample_warehouse)
    cells = published_counts(sample_warehouse)
    assert {(table, key, column) for table, key, column, _ in cells} == set(truth)
    # besides the rule, the complementary suppressions (docs/disclosure.md): on the sample,
    # one, which keeps the four suppressed signposting destinations from being worked out
    complementary = set(
        fetch(
            sample_warehouse,
            "select table_name, row_key, column_name from published.suppression_log "
            "where rule_applied like 'complementary%'",
        )
    )
    assert complementary == {("measure_breakdown", "signposting / Not required", "n")}
    for table, key, column, value in cells:
        count = truth[(table, key, column)]
        if count == 0:
            expected = 0
        elif count <= SUPPRESS_MAX or (table, key, column) in complementary:
            expected = None
        else:
            expected = round_half_up(count)
        assert value == expected, (table, key, column, count, value)


def test_gender_by_hand(sample_warehouse):
    rows = gender(sample_warehouse)
    # Female 85 -> 85, Male 31 -> 30, denominator 116 -> 115
    assert rows["Female"][:4] == (85, "85", False, 115)
    assert rows["Female"][4] == pytest.approx(100 * 85 / 115)
    assert rows["Male"][:4] == (30, "30", False, 115)
    assert rows["Male"][4] == pytest.approx(100 * 30 / 115)
    assert rows["Other"][:4] == (0, "0", False, 115)
    assert rows["Other"][4] == 0.0
    marts_percent = fetch(
        sample_warehouse,
        "select percent from marts.measure_breakdown "
        "where measure_id = 'gender' and category = 'Female'",
    )[0][0]
    assert marts_percent == pytest.approx(100 * 85 / 116)


def test_suppressed_cells_show_nothing_derived_from_their_count(sample_warehouse):
    # age band Declined: 4 of 115; Not recorded: 1, excluded from the denominator
    rows = {
        row[0]: row[1:]
        for row in fetch(
            sample_warehouse,
            "select category, n, n_display, is_suppressed, denominator, percent, ci_lower, "
            "ci_upper, comparison, benchmark_percent from published.measure_breakdown "
            "where measure_id = 'age_band'",
        )
    }
    assert rows["Declined"] == (None, "*", True, 115, None, None, None, None, 8.0)
    assert rows["Not recorded"][:6] == (None, "*", True, None, None, None)
    assert rows["26 - 35"][:5] == (25, "25", False, 115, pytest.approx(100 * 25 / 115))
    # shown cells have the interval of the published counts (25 of 115), not of the true
    # ones (24 of 115), which would give the true count back
    z = 1.959964
    n, d = 25, 115
    centre, spread = 2 * n + z**2, z * (z**2 + 4 * n * (1 - n / d)) ** 0.5
    expected = (
        100 * (centre - spread) / (2 * (d + z**2)),
        100 * (centre + spread) / (2 * (d + z**2)),
    )
    assert rows["26 - 35"][5:7] == pytest.approx(expected)
    true_interval = fetch(
        sample_warehouse,
        "select ci_lower, ci_upper from marts.measure_breakdown "
        "where measure_id = 'age_band' and category = '26 - 35'",
    )[0]
    assert rows["26 - 35"][5] != pytest.approx(true_interval[0])
    leaking = fetch(
        sample_warehouse,
        "select count(*) from published.measure_breakdown where (n is null "
        "or coalesce(denominator_display = '*', false)) and (percent is not null or "
        "ci_lower is not null or ci_upper is not null or comparison is not null)",
    )
    assert leaking == [(0,)]


def test_service_summary_is_controlled_and_ratios_recomputed(sample_warehouse):
    with connect(sample_warehouse) as con:
        cursor = con.execute("select * from published.service_summary")
        names = [column[0] for column in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
    assert "first_registration_date" not in row
    # the period is published: its start is the service's start date (docs/decisions.md)
    assert (row["period_start"], row["period_end"], row["days_of_operation"]) == (
        dt.date(2010, 3, 12),
        dt.date(2010, 8, 31),
        173,
    )
    assert {
        name: row[name]
        for name in ("clients_registered", "women", "men", "eligible_clients", "clients_with_php")
    } == {
        "clients_registered": 115,
        "women": 85,
        "men": 30,
        "eligible_clients": 110,
        "clients_with_php": 100,
    }
    assert (row["goals_set"], row["goals_with_outcome"], row["goals_achieved_or_part"]) == (
        255,
        120,
        105,
    )
    # staff figures are kept as they are
    assert (row["health_trainers_in_post"], row["total_wte"]) == (6, pytest.approx(5.4))
    assert row["clients_per_wte"] == pytest.approx(115 / 5.4)
    assert row["php_to_client_ratio"] == pytest.approx(100 / 115)
    assert row["phps_per_wte"] == pytest.approx(100 / 5.4)
    assert row["projected_clients_12_months"] == pytest.approx(12 * 115 / 6)
    assert row["target_ward_percent_of_all"] == pytest.approx(100 * 75 / 115)
    assert row["target_ward_percent_of_recorded"] == pytest.approx(100 * 75 / 115)
    assert row["most_deprived_two_quintiles_percent"] == pytest.approx(100 * 100 / 115)
    assert row["goals_achieved_or_part_percent"] == pytest.approx(100 * 105 / 120)


def test_data_capture_and_london_comparison_are_controlled(sample_warehouse):
    capture = {
        row[0]: row[1:]
        for row in fetch(
            sample_warehouse,
            "select field, recorded, total, percent, meets_threshold from published.data_capture",
        )
    }
    assert capture["disability"][:3] == (65, 115, pytest.approx(100 * 65 / 115))
    # 5 of 5 clients referred by Other: both suppressed, so no percent and no verdict
    assert capture["referral_source_other"] == (None, None, None, None)
    london = dict(
        fetch(sample_warehouse, "select figure_id, service_value from published.london_comparison")
    )
    assert london["total_clients"] == 115
    assert london["total_phps"] == 100
    assert london["clients_per_wte"] == pytest.approx(115 / 5.4)
    assert london["php_to_client_ratio"] == pytest.approx(100 / 115)
    assert london["total_health_trainers"] == 6
    assert london["total_wte"] == pytest.approx(5.4)
    assert (
        fetch(
            sample_warehouse,
            "select london_services, london_first_year_services, london_six_month_service "
            "from published.london_comparison except select london_services, "
            "london_first_year_services, london_six_month_service from marts.london_comparison",
        )
        == []
    )


# --- the suppression log ----------------------------------------------------------------


def expected_log(database: Path) -> set[tuple]:
    """The log as it follows from the published tables alone."""
    log = set()
    for table, key, column, value in published_counts(database):
        if value is None:
            log.add((table, key, column, "suppressed"))
        elif value != 0:
            log.add((table, key, column, "rounded"))
    return log


def suppression_log(database: Path) -> list[tuple]:
    return fetch(
        database,
        "select table_name, row_key, column_name, action, rule_applied "
        "from published.suppression_log",
    )


def test_suppressed_and_rounded_cells_are_logged(sample_warehouse):
    log = suppression_log(sample_warehouse)
    assert len(log) == len({row[:4] for row in log})
    assert {row[:4] for row in log} == expected_log(sample_warehouse)
    assert ("measure_breakdown", "age_band / Declined", "n", "suppressed") in {
        row[:4] for row in log
    }
    # rounding that changed nothing is logged too: listing only the changed cells would
    # tell that 85 women is exact
    assert ("measure_breakdown", "gender / Female", "n", "rounded") in {row[:4] for row in log}
    assert {(row[3], row[4]) for row in log} == {
        ("suppressed", "count 1 to 7 suppressed"),
        ("rounded", "rounded to nearest 5"),
        # docs/disclosure.md
        ("suppressed", COMPLEMENTARY),
    }


def test_suppression_log_does_not_disclose_the_true_count(sample_warehouse):
    # no number in the log at all: every column is text or the extract date
    types = fetch(
        sample_warehouse,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'published' and table_name = 'suppression_log'",
    )
    assert {data_type for _, data_type in types} <= {"VARCHAR", "DATE"}, types
    # no field of a suppressed cell's row equals its true count (e.g. age band Declined, 4)
    truth = true_counts(sample_warehouse)
    rows = fetch(sample_warehouse, "select * from published.suppression_log")
    suppressed = [row for row in rows if "suppressed" in row]
    assert suppressed
    for row in suppressed:
        table, _, _, key, column, _, rule = row
        count = truth[(table, key, column)]
        if rule == COMPLEMENTARY:
            assert count > SUPPRESS_MAX
        else:
            assert 1 <= count <= SUPPRESS_MAX
        assert str(count) not in {str(value) for value in row}, row
    # and the log holds nothing beyond the published tables: it is a function of them
    # (test_suppressed_and_rounded_cells_are_logged), with a rule text that depends only
    # on the action, so two true counts that publish alike log alike
    # (test_log_and_counts_do_not_depend_on_the_true_count_within_a_class)


# --- configuration ----------------------------------------------------------------------


def perturb(column: str) -> str:
    """SQL moving a count to another true count that publishes the same: 1..7 cycle within
    1..7; above 7, within the same band of the rounding."""
    rounded = f"(({column} * 2 + {BASE}) // {2 * BASE} * {BASE})"
    return (
        f"case when {column} between 1 and {SUPPRESS_MAX} then {column} % {SUPPRESS_MAX} + 1 "
        f"when {column} > {SUPPRESS_MAX} then {rounded} - 2 + (({column} - {rounded} + 3) % 5) "
        f"else {column} end"
    )


@pytest.fixture(scope="module")
def perturbed_warehouse(sample_warehouse, tmp_path_factory) -> Path:
    """A copy whose marts hold different true counts, each in the same class as before
    (suppressed, or rounding to the same value), with the published tables rebuilt."""
    work = tmp_path_factory.mktemp("perturbed")
    warehouse = work / "dcrs.duckdb"
    copy_warehouse(sample_warehouse, warehouse)
    with connect(warehouse, read_only=False) as con:
        con.execute(
            f"update marts.measure_breakdown set n = {perturb('n')}, "
            f"denominator = {perturb('denominator')}"
        )
        con.execute(
            "update marts.service_summary set "
            + ", ".join(f"{column} = {perturb(column)}" for column in SUMMARY_COUNTS)
        )
        con.execute(
            f"update marts.data_capture set recorded = {perturb('recorded')}, "
            f"total = {perturb('total')}"
        )
        con.execute(
            f"update marts.london_comparison set service_value = "
            f"{perturb('service_value::bigint')} where figure_id in {LONDON_COUNTS}"
        )
    result = run_dbt(warehouse, work, "build", "--select", "published")
    assert result.returncode == 0, result.stdout + result.stderr
    return warehouse


def test_log_and_counts_do_not_depend_on_the_true_count_within_a_class(
    sample_warehouse, perturbed_warehouse
):
    before, after = true_counts(sample_warehouse), true_counts(perturbed_warehouse)
    changed = [cell for cell in before if before[cell] != after[cell]]
    assert len(changed) > 300
    assert sorted(suppression_log(perturbed_warehouse)) == sorted(suppression_log(sample_warehouse))
    assert sorted(published_counts(perturbed_warehouse), key=repr) == sorted(
        published_counts(sample_warehouse), key=repr
    )


@pytest.fixture(scope="module")
def strict_vars_run(sample_warehouse, tmp_path_factory) -> tuple[Path, Path]:
    """The published models rebuilt on a copy with suppress_max 10 and base 10."""
    work = tmp_path_factory.mktemp("strict")
    warehouse = work / "dcrs.duckdb"
    copy_warehouse(sample_warehouse, warehouse)
    result = run_dbt(
        warehouse,
        work,
        "build",
        "--select",
        "published",
        "--vars",
        "{disclosure_suppress_max: 10, disclosure_rounding_base: 10}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "assert_published_small_counts_suppressed" in result.stdout
    return warehouse, work / "target"


def test_changing_the_vars_changes_the_output(sample_warehouse, strict_vars_run):
    warehouse, _ = strict_vars_run
    rows = gender(warehouse)
    # halves up with an even base: 85 -> 90; 31 -> 30; 116 -> 120
    assert rows["Female"][:4] == (90, "90", False, 120)
    assert rows["Female"][4] == pytest.approx(75.0)
    assert rows["Male"][:4] == (30, "30", False, 120)
    truth = true_counts(warehouse)
    complementary = set(
        fetch(
            warehouse,
            "select table_name, row_key, column_name from published.suppression_log "
            "where rule_applied like 'complementary%'",
        )
    )
    for table, key, column, value in published_counts(warehouse):
        count = truth[(table, key, column)]
        if (table, key, column) in complementary:
            assert value is None and count > 10
        elif 1 <= count <= 10:
            assert value is None, (table, key, column, count)
        elif count > 10:
            assert value == round_half_up(count, 10), (table, key, column, count)
            assert value % 10 == 0
    # 8 to 10 were published as 10 under the defaults and are suppressed now
    newly = [cell for cell, count in truth.items() if 8 <= count <= 10]
    assert newly
    default = {cell[:3]: cell[3] for cell in published_counts(sample_warehouse)}
    strict = {cell[:3]: cell[3] for cell in published_counts(warehouse)}
    assert all(default[cell] == 10 and strict[cell] is None for cell in newly)
    assert {(row[3], row[4]) for row in suppression_log(warehouse)} - {
        ("suppressed", COMPLEMENTARY.replace("1 to 7", "1 to 10"))
    } == {
        ("suppressed", "count 1 to 10 suppressed"),
        ("rounded", "rounded to nearest 10"),
    }
    # 11 to 14 round to 10, which lies in 1..10 as a value: it is the rounding of a count
    # above the threshold, not a small count (the singular test checks true counts)
    assert any(11 <= count <= 14 for count in truth.values())


def test_vars_that_would_publish_a_count_as_0_stop_the_build(sample_warehouse, tmp_path):
    warehouse = tmp_path / "dcrs.duckdb"
    copy_warehouse(sample_warehouse, warehouse)
    result = run_dbt(
        warehouse,
        tmp_path,
        "parse",
        "--vars",
        "{disclosure_suppress_max: 1, disclosure_rounding_base: 10}",
    )
    assert result.returncode != 0
    assert "a count of 2 would be published as 0" in result.stdout + result.stderr


def test_published_models_are_built_only_from_marts(strict_vars_run):
    _, target = strict_vars_run
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = manifest["nodes"]

    def folder(node_id: str) -> str:
        return Path(nodes[node_id]["original_file_path"]).parts[1] if node_id in nodes else ""

    published = [
        node_id
        for node_id, node in nodes.items()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/published/")
        and not node["original_file_path"].startswith("models/published/report/")
    ]
    # with published_complementary_suppressions (docs/disclosure.md), wellbeing_outcomes,
    # the three latest-extract views (models/published/latest) and the five monthly
    # monitoring models (models/published/monitoring)
    assert len(published) == 18
    # the one staged model allowed: the manifest of the export being loaded (service code,
    # name and extract date), which picks the partition a run builds; it holds no records
    partition_key = "model.dcrs.stg_dcrs__manifests"
    for node_id in published:
        for parent in nodes[node_id]["depends_on"]["nodes"]:
            # a seed is reference data, no records (the intervals' z: confidence_levels)
            if parent.startswith("seed."):
                continue
            assert parent.startswith("model."), (node_id, parent)
            assert folder(parent) in {"marts", "published"} or parent == partition_key, (
                node_id,
                parent,
            )
    cells = nodes["model.dcrs.published_count_cells"]
    assert cells["config"]["materialized"] == "ephemeral"


def test_published_report_models_read_only_published_tables(strict_vars_run):
    """The published report's models read the published tables and the reference seeds,
    never the marts (nor the staged manifest): nothing on report-published.html can come
    from an exact count."""
    _, target = strict_vars_run
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    report = {
        node_id: node
        for node_id, node in nodes.items()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/published/report/")
    }
    assert {node["alias"] for node in report.values()} == PUBLISHED_REPORT_VIEWS
    for node_id, node in report.items():
        assert node["config"]["materialized"] == "view", node_id
        for parent in node["depends_on"]["nodes"]:
            if parent.startswith("seed."):
                continue
            assert nodes[parent]["original_file_path"].startswith("models/published/"), (
                node_id,
                parent,
            )
            assert parent != "model.dcrs.published_count_cells", (node_id, parent)


def test_published_report_states_the_rule_of_the_vars(sample_warehouse, strict_vars_run, tmp_path):
    """The rule the published report states is the dbt vars', read from the warehouse."""
    from dcrs.report import write_report

    warehouse, _ = strict_vars_run
    assert fetch(sample_warehouse, "select * from published.report_disclosure_rule") == [(7, 5)]
    assert fetch(warehouse, "select * from published.report_disclosure_rule") == [(10, 10)]
    page = write_report(warehouse, tmp_path / "report.html", published=True).read_text()
    assert "Counts of 1 to 10 are suppressed" in page
    assert "rounded to the nearest 10 (0 stays 0)" in page
    assert "Counts of 1 to 7" not in page


# --- nothing identifying ----------------------------------------------------------------


def identifying(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """Columns named like an identifier, and text values that are a full postcode or a
    DD/MM/YYYY date, in ``relation``."""
    cursor = con.execute(f"select * from {relation}")
    names = [column[0] for column in cursor.description]
    found = [f"{relation}: column {name}" for name in names if FORBIDDEN_COLUMN.search(name)]
    for row in cursor.fetchall():
        for name, value in zip(names, row, strict=True):
            if isinstance(value, str) and (FULL_POSTCODE.search(value) or UK_DATE.search(value)):
                found.append(f"{relation}.{name}: {value!r}")
    return found


def test_the_patterns_catch_what_they_are_for():
    assert FULL_POSTCODE.search("lives at w10 5xx") and FULL_POSTCODE.search("SW5 9AB")
    assert not FULL_POSTCODE.search("W10") and not FULL_POSTCODE.search("Q1 - Most deprived")
    assert UK_DATE.search("born 01/02/1970") and not UK_DATE.search("a DD/MM/YYYY date")
    assert FORBIDDEN_COLUMN.search("date_of_birth") and FORBIDDEN_COLUMN.search("client_id")
    assert not FORBIDDEN_COLUMN.search("postcode_district")


def test_no_identifying_columns_or_values_in_published_or_marts(sample_warehouse):
    with connect(sample_warehouse) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('published', 'marts')"
        ).fetchall()
        found = [
            problem for schema, table in tables for problem in identifying(con, f"{schema}.{table}")
        ]
    assert len(tables) > 20
    assert found == []


# --- Parquet and the manifest -----------------------------------------------------------


@pytest.fixture(scope="module")
def parquet_export(sample_warehouse, tmp_path_factory) -> Path:
    before = hashlib.sha256(sample_warehouse.read_bytes()).hexdigest()
    out_dir = tmp_path_factory.mktemp("parquet") / "parquet"
    # a BI tool holding the warehouse open read-only does not stop the export, which
    # opens it read-only too (a read-write open would be refused in this process)
    with connect(sample_warehouse):
        manifest = export_parquet(sample_warehouse, out_dir)
    assert hashlib.sha256(sample_warehouse.read_bytes()).hexdigest() == before
    return manifest


def test_manifest_lists_every_marts_and_published_table(sample_warehouse, parquet_export):
    manifest = json.loads(parquet_export.read_text())
    out_dir = parquet_export.parent
    with connect(sample_warehouse) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'published') order by 1, 2"
        ).fetchall()
        counts = {
            (schema, table): con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
            for schema, table in tables
        }
    files = manifest["files"]
    assert [(entry["schema"], entry["table"]) for entry in files] == tables
    for entry in files:
        path = out_dir / entry["path"]
        assert entry["path"] == f"{entry['schema']}/{entry['table']}.parquet"
        assert entry["rows"] == counts[(entry["schema"], entry["table"])]
        assert entry["bytes"] == path.stat().st_size
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["disclosure_controlled"] == (entry["schema"] == "published")
    assert manifest["extracts"] == [{"service_code": "KC", "extract_date": "2010-08-31"}]
    assert manifest["service_codes"] == ["KC"]
    assert manifest["extract_dates"] == ["2010-08-31"]
    written = dt.datetime.fromisoformat(manifest["written_at"])
    assert written.tzinfo is not None
    assert abs(time.time() - written.timestamp()) < 3600
    assert sorted(path.name for path in out_dir.iterdir()) == [
        "manifest.json",
        "marts",
        "published",
    ]


def test_parquet_files_hold_the_tables(sample_warehouse, parquet_export):
    out_dir = parquet_export.parent
    with connect(sample_warehouse) as con:
        for schema in ("marts", "published"):
            for table in ("measure_breakdown", "service_summary"):
                path = str(out_dir / schema / f"{table}.parquet")
                for left, right in (
                    (f"read_parquet('{path}')", f"{schema}.{table}"),
                    (f"{schema}.{table}", f"read_parquet('{path}')"),
                ):
                    difference = con.execute(
                        f"select count(*) from (select * from {left} except all "
                        f"select * from {right})"
                    ).fetchone()[0]
                    assert difference == 0, (schema, table)


def test_no_identifying_columns_or_values_in_parquet(parquet_export):
    out_dir = parquet_export.parent
    paths = sorted(out_dir.rglob("*.parquet"))
    assert len(paths) > 20
    with duckdb.connect() as con:
        found = [
            problem for path in paths for problem in identifying(con, f"read_parquet('{path}')")
        ]
    assert found == []


def test_parquet_files_match_the_manifest(parquet_export):
    assert verify_manifest(parquet_export) == []


def test_verify_manifest_detects_tampering(parquet_export, tmp_path):
    copy = tmp_path / "parquet"
    shutil.copytree(parquet_export.parent, copy)
    manifest = copy / "manifest.json"

    # one byte changed, same size
    altered = copy / "published" / "measure_breakdown.parquet"
    data = bytearray(altered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(bytes(data))
    problems = verify_manifest(manifest)
    assert len(problems) == 1
    assert problems[0].startswith("published/measure_breakdown.parquet: sha256 is ")

    # truncated, missing, and a file the manifest does not list
    truncated = copy / "published" / "service_summary.parquet"
    truncated.write_bytes(truncated.read_bytes()[:-10])
    (copy / "marts" / "gender.parquet").unlink()
    copy_warehouse(copy / "marts" / "ward.parquet", copy / "marts" / "extra.parquet")
    problems = verify_manifest(manifest)
    assert any(
        problem.startswith("published/service_summary.parquet: size is") for problem in problems
    )
    assert "marts/gender.parquet: missing" in problems
    assert "marts/extra.parquet: not listed in the manifest" in problems

    # an entry pointing outside the folder, and an unreadable manifest
    document = json.loads(manifest.read_text())
    document["files"][0]["path"] = "../../etc/passwd"
    manifest.write_text(json.dumps(document))
    assert any("lies outside" in problem for problem in verify_manifest(manifest))
    manifest.write_text("{not json")
    assert verify_manifest(manifest)[0].endswith(
        "cannot be read as an export manifest (Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1))"
    )


def test_export_refuses_a_folder_that_is_not_empty(sample_warehouse, parquet_export):
    with pytest.raises(FileExistsError):
        export_parquet(sample_warehouse, parquet_export.parent)
