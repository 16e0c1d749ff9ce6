"""docs/adding-a-measure.md, replayed: its example measure, added to a copy of the project
exactly as the page says (its code blocks that name a file), reaches the marts, the
published tables, both reports and the dbt docs, with counts computed here from the
sample's CSV files.

One test runs the pipeline once and checks each output in turn (a test per output would
run it once per pytest-xdist worker)."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import (
    ROOT,
    SAMPLE_EXPORT,
    connect,
    copy_project,
    copy_warehouse,
    outputs_of,
    run_dcrs,
)

from dcrs.build import dbt_command

GUIDE = ROOT / "docs" / "adding-a-measure.md"
# a fenced block whose info string names a file: ```csv append-to=seeds/measures.csv
FILE_BLOCK = re.compile(r"^```\w+ (append-to|create)=(\S+)\n(.*?)^```$", re.M | re.S)
MEASURE = "trainer_role"
MODEL = "int_trainer_role_categorised"
TITLE = "Clients by their health trainer's role"
CATEGORIES = ["Health Trainer", "Trainee Health Trainer", "Not recorded", "Invalid"]
SUPPRESS_MAX, ROUNDING_BASE = 7, 5  # measures.md's rule (dbt vars disclosure_*)


def follow_guide(project: Path) -> list[str]:
    """Apply the guide's file blocks to ``project``: rows appended to a file, files
    created. Returns the names of the files touched."""
    touched = []
    for action, name, text in FILE_BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        path = project / name
        if action == "create":
            assert not path.exists(), f"the guide creates {name}, which exists"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        else:
            existing = path.read_text(encoding="utf-8")
            assert existing.endswith("\n"), f"{name} does not end with a new line"
            path.write_text(existing + text, encoding="utf-8")
        touched.append(name)
    return touched


def expected_counts() -> Counter[str]:
    """Each client of the sample in the category of their trainer's role, read from the
    CSV files (every client row of the sample is kept; every role is spelt as coded)."""
    with open(SAMPLE_EXPORT / "health_trainers.csv", newline="", encoding="utf-8") as file:
        roles = {row["health_trainer_id"]: row["role"] for row in csv.DictReader(file)}
    with open(SAMPLE_EXPORT / "clients.csv", newline="", encoding="utf-8-sig") as file:
        trainers = [row["health_trainer_id"].strip() for row in csv.DictReader(file)]
    return Counter(
        "Not recorded" if not trainer else roles.get(trainer, "Invalid") for trainer in trainers
    )


def published(n: int) -> int | None:
    """A count under disclosure control: 0 stays 0, 1 to 7 suppressed, else nearest 5."""
    if 0 < n <= SUPPRESS_MAX:
        return None
    return ROUNDING_BASE * round(n / ROUNDING_BASE)


def dbt(
    project: Path, warehouse: Path, work: Path, *arguments: str
) -> subprocess.CompletedProcess[str]:
    """dbt in ``project`` against ``warehouse``, with its target and logs under ``work``."""
    return subprocess.run(
        dbt_command(
            *arguments,
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            project=project,
        ),
        capture_output=True,
        text=True,
        cwd=project,
        env={**os.environ, "DCRS_WAREHOUSE": str(warehouse)},
        check=False,
    )


@pytest.mark.fast
def test_the_guide_adds_the_seed_rows_and_one_model() -> None:
    blocks = FILE_BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    assert [(action, name) for action, name, _ in blocks] == [
        ("append-to", "seeds/measures.csv"),
        ("append-to", "seeds/measure_categories.csv"),
        ("create", f"models/intermediate/measures/{MODEL}.sql"),
    ]


def test_a_measure_added_as_the_guide_says_reaches_every_output(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    follow_guide(project)
    generated = subprocess.run(
        [sys.executable, str(project / "scripts" / "generate_measure_models.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    check_generated_files(project)

    warehouse = tmp_path / "run" / "dcrs.duckdb"
    result = run_dcrs(SAMPLE_EXPORT, warehouse, project=project)
    assert result.returncode == 0, result.stdout + result.stderr
    check_marts(warehouse)
    check_published(warehouse)
    for report in ("report.html", "report-published.html"):
        check_report(outputs_of(warehouse) / report)

    copy = tmp_path / "dbt" / "warehouse.duckdb"
    copy.parent.mkdir()
    copy_warehouse(warehouse, copy)
    check_dbt_docs(project, copy, tmp_path / "dbt")
    # the members model's unit test is given the union of the measures' own models, so a
    # new category model leaves it as it was
    unit_tests = dbt(project, copy, tmp_path / "dbt", "test", "--select", "test_type:unit")
    assert unit_tests.returncode == 0, unit_tests.stdout + unit_tests.stderr


def check_generated_files(project: Path) -> None:
    measures = project / "models" / "marts" / "measures"
    assert f"measure_table('{MEASURE}')" in (measures / f"{MEASURE}.sql").read_text()
    assert f"ref('{MEASURE}')" in (measures / "_bi_marts__exposures.yml").read_text()
    macro = project / "macros" / "generated" / "measure_catalogue.sql"
    assert f"'{MEASURE}'," in macro.read_text()
    members = (
        project / "models" / "intermediate" / "measures" / "int_measure_members_own_models.sql"
    )
    assert f"ref('{MODEL}')" in members.read_text()


def check_marts(warehouse: Path) -> None:
    expected = expected_counts()
    assert sum(expected.values()) == 116
    denominator = sum(n for category, n in expected.items() if category != "Invalid")
    with connect(warehouse) as con:
        breakdown = con.execute(
            "select category, n, denominator, percent from marts.measure_breakdown "
            "where measure_id = ? order by category_order",
            [MEASURE],
        ).fetchall()
        view = con.execute(
            f"select category, n, denominator, percent from marts.{MEASURE} order by category_order"
        ).fetchall()
    assert breakdown == [
        (category, expected[category], denominator, 100 * expected[category] / denominator)
        for category in CATEGORIES[:-1]
    ] + [("Invalid", expected["Invalid"], None, None)]
    assert view == breakdown


def check_published(warehouse: Path) -> None:
    expected = expected_counts()
    with connect(warehouse) as con:
        rows = con.execute(
            "select category, n, is_suppressed from published.measure_breakdown "
            "where measure_id = ? order by category_order",
            [MEASURE],
        ).fetchall()
    assert rows == [
        (category, published(expected[category]), published(expected[category]) is None)
        for category in CATEGORIES
    ]


def check_report(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert TITLE.replace("'", "&#39;") in page, f"no section titled {TITLE} in {report.name}"
    assert f'href="#measure-{MEASURE}"' in page  # in "The measures at a glance"
    assert "Table 7.1.19" in page
    chart = re.search(rf'<svg class="chart" data-measure="{MEASURE}".*?</svg>', page, re.S)
    assert chart, f"no chart of {MEASURE} in {report.name}"
    assert "Trainee Health Trainer" in chart.group(0)


def check_dbt_docs(project: Path, warehouse: Path, work: Path) -> None:
    result = dbt(project, warehouse, work, "docs", "generate")
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    catalog = json.loads((work / "target" / "catalog.json").read_text())

    view = manifest["nodes"][f"model.dcrs.{MEASURE}"]
    assert view["description"].startswith(
        f"One row per service, extract and category of {TITLE} (measure `{MEASURE}`, "
        "report table 7.1.19), counting clients; population: all clients."
    )
    assert "registered with, from health_trainers.csv" in view["description"]  # the notes
    assert "Excluded from the denominator: `Invalid`. No benchmark." in view["description"]
    assert {"category", "n", "percent"} <= set(catalog["nodes"][f"model.dcrs.{MEASURE}"]["columns"])

    model = manifest["nodes"][f"model.dcrs.{MODEL}"]
    assert model["description"].startswith("One row per service, extract and client")
    assert "model.dcrs.int_health_trainers_validated" in model["depends_on"]["nodes"]
    assert MEASURE in catalog["nodes"][f"model.dcrs.{MODEL}"]["columns"]
    members = manifest["nodes"]["model.dcrs.int_measure_members_own_models"]
    assert f"model.dcrs.{MODEL}" in members["depends_on"]["nodes"]
    exposure = manifest["exposures"]["exposure.dcrs.bi_marts"]
    assert f"model.dcrs.{MEASURE}" in exposure["depends_on"]["nodes"]
