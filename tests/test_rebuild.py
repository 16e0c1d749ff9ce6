"""`dcrs rebuild`: after a change to the columns of the tables that keep every extract
(and the schema version raised with it), a run refuses the old warehouse, and a rebuild
replays the kept exports into a new one and swaps it in; it refuses an inbox that lacks an
extract the warehouse holds, and a failed rebuild changes nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import DCRS, ROOT, connect, copy_project, copy_warehouse, outputs_of

from dcrs.generate import generate
from dcrs.settings import schema_version


def dcrs(*arguments: str, project: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if project is not None:
        env["DCRS_PROJECT_DIR"] = str(project)
    return subprocess.run(
        [str(DCRS), *arguments], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    generate(folder, clients=300, services=1, months=2)
    return folder


@pytest.fixture(scope="module")
def changed_project(tmp_path_factory) -> Path:
    """The project with a column added to an incremental mart and the version raised."""
    project = copy_project(tmp_path_factory.mktemp("changed") / "project")
    mart = project / "models" / "marts" / "data_capture.sql"
    mart.write_text(
        mart.read_text().replace(
            "        fields.population,\n",
            "        fields.population,\n        fields.population = 'all goals' as about_goals,\n",
            1,
        )
    )
    # the mart's contract names every column, so the new one is added there too
    models = project / "models" / "marts" / "_marts__models.yml"
    text = models.read_text()
    population = text.index("      - name: population\n", text.index("  - name: data_capture\n"))
    models.write_text(
        text[:population]
        + "      - name: about_goals\n"
        + "        data_type: boolean\n"
        + "        description: Whether the field is about goals.\n"
        + text[population:]
    )
    settings_file = project / "dbt_project.yml"
    old = f"warehouse_schema_version: {schema_version()}"
    assert old in settings_file.read_text()
    settings_file.write_text(
        settings_file.read_text().replace(old, f"warehouse_schema_version: {schema_version() + 1}")
    )
    return project


@pytest.fixture(scope="module")
def loaded(inbox, tmp_path_factory) -> Path:
    """Both months of the service, loaded by the current models."""
    path = tmp_path_factory.mktemp("loaded") / "dcrs.duckdb"
    result = dcrs("run-inbox", "--inbox", str(inbox), "--warehouse", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    return path


@pytest.fixture
def warehouse(loaded, tmp_path) -> Path:
    """A copy of the loaded warehouse, for a test to change."""
    path = tmp_path / "warehouse" / "dcrs.duckdb"
    path.parent.mkdir()
    copy_warehouse(loaded, path)
    return path


def extracts(path: Path) -> list[tuple[str, str]]:
    with connect(path) as con:
        return con.execute(
            "select service_code, extract_date::varchar from marts.service_summary order by all"
        ).fetchall()


def test_a_run_refuses_a_warehouse_of_another_version(warehouse, inbox, changed_project):
    before = digest(warehouse)
    export = sorted(inbox.glob("*/*"))[-1]
    result = dcrs(
        "run", "--export", str(export), "--warehouse", str(warehouse), project=changed_project
    )
    assert result.returncode == 6, result.stdout + result.stderr
    assert f"schema version {schema_version()}" in result.stderr
    assert "dcrs rebuild --inbox" in result.stderr
    assert digest(warehouse) == before


def test_rebuild_replays_every_export_into_the_new_schema(warehouse, inbox, changed_project):
    kept = extracts(warehouse)
    assert len(kept) == 2
    result = dcrs(
        "rebuild", "--inbox", str(inbox), "--warehouse", str(warehouse), project=changed_project
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Rebuilt" in result.stdout
    assert extracts(warehouse) == kept
    with connect(warehouse) as con:
        assert con.execute("select schema_version from audit.warehouse_schema").fetchall() == [
            (schema_version() + 1,)
        ]
        # the new column, at every extract
        assert con.execute(
            "select extract_date::varchar, count(*) filter (where about_goals) "
            "from marts.data_capture group by all order by all"
        ).fetchall() == [(date, 1) for _, date in kept]
        # the history was replayed in order: the second extract follows the first
        assert con.execute(
            "select previous_extract_date::varchar from history.loaded_extracts "
            "order by extract_date"
        ).fetchall() == [(None,), (kept[0][1],)]
    for output in ("report.html", "report-published.html", "parquet", "data_docs"):
        assert (outputs_of(warehouse) / output).exists(), output
    assert (
        sorted(path.name for path in warehouse.parent.iterdir() if path.name.startswith(".")) == []
    )
    # and the next run, with the changed models, is accepted
    export = sorted(inbox.glob("*/*"))[-1]
    again = dcrs(
        "run", "--export", str(export), "--warehouse", str(warehouse), project=changed_project
    )
    assert again.returncode == 0, again.stdout + again.stderr


def test_rebuild_refuses_an_inbox_missing_a_kept_extract(warehouse, inbox, tmp_path):
    partial = tmp_path / "partial"
    first = sorted(inbox.glob("*/*"))[0]
    shutil.copytree(first, partial / first.parent.name / first.name)
    before = digest(warehouse)
    result = dcrs("rebuild", "--inbox", str(partial), "--warehouse", str(warehouse))
    assert result.returncode == 2, result.stdout + result.stderr
    latest = sorted(inbox.glob("*/*"))[-1]
    assert f"holds no export of {latest.parent.name} {latest.name}" in result.stderr
    assert digest(warehouse) == before


def test_a_failed_rebuild_changes_nothing(warehouse, inbox, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(inbox, broken)
    # the oldest export, which the rebuild loads first
    oldest = sorted(broken.glob("*/*"))[0]
    (oldest / "goals.csv").unlink()
    before = digest(warehouse)
    result = dcrs("rebuild", "--inbox", str(broken), "--warehouse", str(warehouse))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "goals.csv: required file is missing" in result.stderr
    assert digest(warehouse) == before
    assert not warehouse.with_name(f".{warehouse.name}.rebuild").exists()
