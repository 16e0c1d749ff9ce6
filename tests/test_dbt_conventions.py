"""dbt's conventions the project follows (issue 17, finding 7): enforced contracts on the
marts and published models, exposures that name their owner and where they are, and the
project's own partition macro for incremental models."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, connect, copy_project, copy_warehouse

from dcrs.build import DATABASE_NAME, dbt_command, dbt_environment

# Models of marts/ and published/ without an enforced contract, and why: dbt enforces
# contracts on SQL models that it writes to the warehouse only.
UNCONTRACTED = {
    "published_complementary_suppressions": "a Python model",
    "published_count_cells": "ephemeral",
    # the indices of the extract being built (schema audit); published.inequality_indices,
    # contracted, keeps them
    "published_inequality_index_figures": "a Python model",
}


def manifest_of(empty_build: Path) -> dict:
    """The manifest dbt wrote when it built the sample empty (the session's fixture)."""
    return json.loads((empty_build.parent / "target" / "manifest.json").read_text())


def output_models(manifest: dict) -> list[dict]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith(("models/marts/", "models/published/"))
    ]


@pytest.mark.fast
def test_every_mart_and_published_model_has_an_enforced_contract(empty_build: Path) -> None:
    models = output_models(manifest_of(empty_build))
    assert len(models) > 60
    uncontracted = {
        node["name"]: "a Python model" if node["language"] == "python" else "ephemeral"
        for node in models
        if not node["config"]["contract"]["enforced"]
    }
    assert uncontracted == UNCONTRACTED
    for node in models:
        if node["name"] in UNCONTRACTED:
            continue
        untyped = [name for name, column in node["columns"].items() if not column["data_type"]]
        assert node["columns"], node["name"]
        assert untyped == [], node["name"]


@pytest.mark.fast
def test_every_exposure_names_its_owner_email_and_url(empty_build: Path) -> None:
    exposures = manifest_of(empty_build)["exposures"].values()
    assert {exposure["name"] for exposure in exposures} >= {
        "monthly_service_report",
        "quality_alert_email",
        "published_outputs",
        "bi_marts",
    }
    for exposure in exposures:
        assert exposure["owner"]["name"], exposure["name"]
        assert "@" in (exposure["owner"]["email"] or ""), exposure["name"]
        assert exposure["url"], exposure["name"]
        assert "{{" not in exposure["url"] + exposure["owner"]["email"]
    urls = {exposure["name"]: exposure["url"] for exposure in exposures}
    assert urls["monthly_service_report"].endswith("/report.html")
    assert urls["published_outputs"].endswith("/parquet/manifest.json")
    assert urls["bi_marts"].startswith("duckdb:///")


def retype_extract_date(model: Path) -> None:
    """Make a model yield extract_date as text instead of a date: what a careless edit
    does to a column BI tools and the marts' readers rely on."""
    sql = model.read_text()
    model.write_text(
        "select * replace (cast(extract_date as varchar) as extract_date)\n"
        f"from (\n{sql}\n) as model_sql\n"
    )


def test_a_column_type_change_in_a_mart_fails_the_build(empty_build: Path, tmp_path: Path) -> None:
    """On a copy of the project, an incremental mart (record_changes) and a view
    (report_data_capture) are edited to yield extract_date as text: dbt refuses to build
    both against their contracts, and builds the mart beside them that was not edited."""
    project = copy_project(tmp_path / "project")
    retype_extract_date(project / "models" / "marts" / "record_changes.sql")
    retype_extract_date(project / "models" / "marts" / "report" / "report_data_capture.sql")
    work = tmp_path / "build"
    work.mkdir()
    copy_warehouse(empty_build, work / DATABASE_NAME)
    result = subprocess.run(
        dbt_command(
            "run",
            "--empty",
            "--select",
            "record_changes report_data_capture field_changes",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            project=project,
        ),
        capture_output=True,
        text=True,
        cwd=work,
        env=dbt_environment(project),
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "PASS=1 WARN=0 ERROR=2" in output, output
    assert output.count("This model has an enforced contract that failed") == 2, output
    # dbt's table of the mismatch: the column, the type built and the type declared
    assert "| extract_date | VARCHAR" in output, output


# A problem the extract's earlier version had (a rejected row), and one of an earlier
# extract of the same service, put into audit.load_issues before the reload.
STALE_ISSUE = ("KC", "2010-08-31", "clients.csv", 5, "gender", "not in the code list")
OTHER_EXTRACT_ISSUE = ("KC", "2010-07-31", "clients.csv", 9, "gender", "not in the code list")


def reload_load_issues(
    sample_warehouse: Path, work: Path, project: Path | None = None
) -> set[tuple]:
    """The sample's extract reloaded, as a corrected export that has no load issues, into a
    copy of the sample's warehouse whose audit.load_issues still holds a problem of the
    extract's earlier version: dbt builds load_issues again (with ``project``'s
    configuration, else this project's). Returns the rows of load_issues afterwards."""
    work.mkdir()
    warehouse = copy_warehouse(sample_warehouse, work / DATABASE_NAME)
    with connect(warehouse, read_only=False) as con:
        assert con.execute("select count(*) from audit.load_issues").fetchone() == (0,)
        con.executemany(
            "insert into audit.load_issues values (?, ?::date, ?, ?, ?, ?, 'row rejected')",
            [STALE_ISSUE, OTHER_EXTRACT_ISSUE],
        )
    result = subprocess.run(
        dbt_command(
            "run",
            "--select",
            "load_issues",
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            **({"project": project} if project else {}),
        ),
        capture_output=True,
        text=True,
        cwd=work,
        env=dbt_environment(project or ROOT),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with connect(warehouse) as con:
        rows = con.execute(
            "select service_code, strftime(extract_date, '%Y-%m-%d'), file_name, line, "
            "column_name, reason from audit.load_issues"
        ).fetchall()
    return set(rows)


def test_reloading_an_extract_with_no_rows_for_a_table_leaves_no_stale_rows(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    """Why the project keeps its partition macro (macros/partitions.sql) rather than
    dbt-duckdb's delete+insert strategy keyed on the partition: when the reloaded extract
    has no rows for a table, delete+insert deletes only the keys of the new rows (none), so
    the earlier version's rows stay; the macro deletes the partition loaded whatever the new
    rows are. Both keep the other extract's rows."""
    assert reload_load_issues(sample_warehouse, tmp_path / "macro") == {OTHER_EXTRACT_ISSUE}

    project = copy_project(tmp_path / "project")
    settings = project / "dbt_project.yml"
    audit = """    audit:
      +schema: audit
      +materialized: incremental
      +incremental_strategy: append
      +on_schema_change: fail
      +pre-hook: "{{ delete_loaded_partition() }}"
"""
    assert audit in settings.read_text()
    settings.write_text(
        settings.read_text().replace(
            audit,
            audit.replace("append", "delete+insert")
            .replace('"{{ delete_loaded_partition() }}"', "[]")
            .replace(
                "+schema: audit\n",
                "+schema: audit\n      +unique_key: [service_code, extract_date]\n",
            ),
        )
    )
    stale = reload_load_issues(sample_warehouse, tmp_path / "delete_insert", project)
    assert stale == {STALE_ISSUE, OTHER_EXTRACT_ISSUE}
