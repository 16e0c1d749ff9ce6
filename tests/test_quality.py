"""The Great Expectations suites, run inside `dbt build` (models/quality, dcrs.quality), on
real DuckDB warehouses built by `dcrs run`: the sample export, a copy of it damaged in four
known ways, and copies of the project with changed thresholds or a broken check."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SAMPLE_EXPORT, connect, copy_project, outputs_of, run_dcrs
from exports import read_rows, write_rows

from dcrs.quality import keep_one_duckdb_connection, load_definitions
from dcrs.summary import CheckResult

# The evaluation's own finding (report section 7.1): only these fields fall below 95%.
EVALUATION_CAPTURE_FAILURES = {
    "disability": (57.8, "all clients"),
    "primary_health_issue": (91.0, "eligible clients"),
    "bmi": (82.9, "eligible clients"),
    "signposted_to": (36.2, "all clients"),
}
POPULATIONS = {"all clients", "eligible clients", "clients referred by Other", "all goals"}
VARIABLES = {"bmi_min": 12, "bmi_max": 90}


def results_of(warehouse: Path) -> dict[str, CheckResult]:
    """marts.data_quality_results of the warehouse's (one) extract, by check id."""
    with connect(warehouse) as con:
        rows = con.execute(
            "select suite, check_id, field, description, observed_value, threshold, passed, "
            "recorded, total, population from marts.data_quality_results order by check_order"
        ).fetchall()
    return {row[1]: CheckResult(*row) for row in rows}


@pytest.fixture(scope="module")
def sample_results(sample_warehouse) -> dict[str, CheckResult]:
    return results_of(sample_warehouse)


@pytest.fixture(scope="module")
def damaged_warehouse(tmp_path_factory) -> Path:
    """The sample with a duplicated client_id, an orphan goal, a BMI out of range and a
    gender in no code list, run through the whole pipeline."""
    export = tmp_path_factory.mktemp("damaged_quality") / "export"
    shutil.copytree(SAMPLE_EXPORT, export)
    clients = read_rows(export, "clients.csv")
    clients[1]["bmi"] = "95.0"
    clients[2]["gender"] = "Femail"
    write_rows(export, "clients.csv", [*clients, dict(clients[0])])
    goals = read_rows(export, "goals.csv")
    orphan = {**goals[0], "goal_id": "G9999", "client_id": "KC999999"}
    write_rows(export, "goals.csv", [*goals, orphan])
    warehouse = export.parent / "dcrs.duckdb"
    result = run_dcrs(export, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    return warehouse


def test_every_seed_field_has_a_capture_check(sample_results, query):
    fields = [row[0] for row in query("select field from reference.data_capture_fields")]
    capture = [result for result in sample_results.values() if result.suite == "data_capture"]
    assert [result.field for result in capture] == fields
    assert [result.check for result in capture] == [f"capture:{field}" for field in fields]
    for result in capture:
        assert result.population in POPULATIONS
        assert result.threshold == 95.0
        assert result.recorded is not None and result.total is not None
        assert result.description.startswith("At least 95% of ")


def test_exactly_the_four_fields_the_evaluation_found_fall_below_95(sample_results):
    failed = {
        result.field: (round(result.observed_value, 1), result.population)
        for result in sample_results.values()
        if result.suite == "data_capture" and not result.passed
    }
    assert failed == EVALUATION_CAPTURE_FAILURES
    assert sample_results["capture:disability"].recorded == 67
    assert sample_results["capture:disability"].total == 116
    assert sample_results["capture:bmi"].total == 111


def test_great_expectations_judges_the_data_capture_mart(sample_results, query):
    """The figures are the mart's (computed once); GX's verdict on them is its own and
    agrees with the mart's meets_threshold."""
    mart = query(
        "select field, population, recorded, total, percent, threshold_percent, "
        "meets_threshold from marts.data_capture order by field_order"
    )
    for field, population, recorded, total, percent, threshold, meets in mart:
        result = sample_results[f"capture:{field}"]
        assert (result.population, result.recorded, result.total) == (population, recorded, total)
        assert result.observed_value == percent, field
        assert result.threshold == threshold, field
        assert result.passed == meets, field


def test_every_validity_and_structure_check_passes_on_the_sample(sample_results):
    others = [result for result in sample_results.values() if result.suite != "data_capture"]
    assert {result.suite for result in others} == {"validity", "structure"}
    assert len(others) >= 30
    failed = [(result.check, result.observed_value) for result in others if not result.passed]
    assert failed == []
    for result in others:
        assert result.observed_value == 0, result.check
        assert result.threshold is None
        assert result.recorded is None and result.total is None and result.population is None
        assert result.description.endswith("."), result.check


def test_damaged_export_fails_the_matching_checks_with_their_counts(damaged_warehouse):
    results = results_of(damaged_warehouse)
    failed = {
        result.check: result.observed_value
        for result in results.values()
        if result.suite != "data_capture" and not result.passed
    }
    assert failed == {
        # both rows carrying the repeated client_id
        "structure:client_id_unique": 2,
        "structure:goals_belong_to_clients": 1,
        "validity:bmi_range": 1,
        "validity:gender_code_list": 1,
    }
    assert results["validity:gender_code_list"].field == "gender"
    assert results["validity:bmi_range"].description == (
        "Every recorded bmi in clients.csv is from 12 to 90."
    )
    # the manifest was updated with the rows: the counts still agree
    assert results["structure:clients_row_count"].passed
    assert results["structure:goals_row_count"].passed
    with connect(damaged_warehouse) as con:
        published = dict(
            con.execute(
                "select check_id, observed_value from published.data_quality_results "
                "where not passed and suite <> 'data_capture'"
            ).fetchall()
        )
    # published: counts of 1 to 7 unexpected rows are suppressed
    assert published == dict.fromkeys(failed)


def test_thresholds_come_from_the_seed(tmp_path):
    project = copy_project(tmp_path / "project")
    seed = project / "seeds" / "data_capture_fields.csv"
    with seed.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    changed = {"disability": "50", "ward": "99.5"}
    for row in rows:
        row["threshold_percent"] = changed.get(row["field"], row["threshold_percent"])
    with seed.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    warehouse = tmp_path / "dcrs.duckdb"
    result = run_dcrs(SAMPLE_EXPORT, warehouse, project=project)
    assert result.returncode == 0, result.stdout + result.stderr
    results = results_of(warehouse)
    assert results["capture:disability"].threshold == 50
    assert results["capture:disability"].passed
    assert results["capture:ward"].threshold == 99.5
    assert not results["capture:ward"].passed
    assert results["capture:bmi"].threshold == 95  # blank: the dbt default


def test_data_docs_are_written_as_static_html(sample_warehouse):
    docs = outputs_of(sample_warehouse) / "data_docs"
    html = (docs / "index.html").read_text()
    for suite in ("data_capture", "validity", "structure"):
        assert suite in html
    pages = list((docs / "validations").rglob("*.html"))
    assert len(pages) == 9  # one per suite and asset
    capture_page = next(page for page in pages if "data_capture" in page.parts)
    assert "At least 95% of all clients have a recorded, valid disability." in (
        capture_page.read_text()
    )


def test_a_check_that_cannot_run_fails_the_build_and_publishes_nothing(tmp_path):
    project = copy_project(tmp_path / "project")
    suite_file = project / "expectations" / "validity.yml"
    suite = yaml.safe_load(suite_file.read_text())
    suite["checks"][0]["kwargs"]["column"] = "no_such_column"
    suite_file.write_text(yaml.safe_dump(suite, sort_keys=False))
    warehouse = tmp_path / "dcrs.duckdb"
    result = run_dcrs(SAMPLE_EXPORT, warehouse, project=project)
    assert result.returncode == 3, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Great Expectations could not evaluate every check" in output
    assert "validity:gender_code_list" in output
    assert not warehouse.exists()


def test_duckdb_dialect_fix_still_works_with_this_great_expectations(sample_warehouse):
    """Guard for the fix in keep_one_duckdb_connection (../shared/notes/stack.md): fails when
    a GX upgrade removes the dialect list or the fix no longer makes expectations resolve
    through a connection the caller holds (dbt's, in a run)."""
    import great_expectations as gx
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    from dcrs.quality import engine_options

    assert isinstance(engine._PERSISTED_CONNECTION_DIALECTS, tuple)
    assert "sqlite" in engine._PERSISTED_CONNECTION_DIALECTS
    keep_one_duckdb_connection()
    keep_one_duckdb_connection()  # idempotent
    assert [name for name in engine._PERSISTED_CONNECTION_DIALECTS if name == "duckdb"] == [
        "duckdb"
    ]
    with connect(sample_warehouse) as con:
        context = gx.get_context(mode="ephemeral")
        datasource = context.data_sources.add_sql(
            name="guard", connection_string="duckdb:///:memory:", kwargs=engine_options(con)
        )
        batch = (
            datasource.add_query_asset(
                name="clients", query="select * from intermediate.int_clients_validated"
            )
            .add_batch_definition_whole_table(name="all")
            .get_batch()
        )
        result = batch.validate(gx.expectations.ExpectColumnValuesToNotBeNull(column="client_id"))
        # the caller's connection still answers afterwards
        assert con.execute("select count(*) from marts.data_capture").fetchone()[0] > 0
    assert not result.exception_info.get("raised_exception"), result.exception_info
    assert result.success
    assert result.result["element_count"] == 116


def test_capture_expectations_carry_meta_for_plain_language(sample_warehouse):
    with connect(sample_warehouse) as con:
        definitions = load_definitions(con, ROOT / "expectations", VARIABLES)
    capture = {check.field: check for check in definitions.checks if check.suite == "data_capture"}
    assert capture["bmi"].meta == {
        "suite": "data_capture",
        "check": "capture:bmi",
        "field": "bmi",
        "description": "At least 95% of eligible clients have a recorded, valid bmi.",
        "population": "eligible clients",
        "threshold_percent": 95.0,
    }
    assert capture["bmi"].expectation == "ExpectColumnPairValuesAToBeGreaterThanB"
    checks = [check.check for check in definitions.checks]
    assert len(checks) == len(set(checks))


@pytest.mark.fast
def test_importing_quality_or_cli_does_not_import_great_expectations():
    code = (
        "import sys, dcrs.quality, dcrs.data_docs, dcrs.cli; "
        "print('great_expectations' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
