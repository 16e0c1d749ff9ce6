"""The files written from the measure catalogue (scripts/generate_measure_models.py, `make
catalogue`) are the ones a fresh run writes from the committed seeds, and the generator
refuses a catalogue it cannot follow and removes what no longer follows from it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

SCRIPT = ROOT / "scripts" / "generate_measure_models.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_measure_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


generator = load_generator()


@pytest.mark.fast
def test_generated_files_are_current(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    fresh = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file())
    committed = generator.generated_files(ROOT)
    assert committed == fresh, "the generated files are not the catalogue's: run make catalogue"
    for path in fresh:
        assert (ROOT / path).read_text() == (tmp_path / path).read_text(), (
            f"{path} is out of date: run make catalogue"
        )


@pytest.mark.fast
def test_every_measure_has_a_table_in_marts() -> None:
    """A view generated from the catalogue, or a model of its own (ward)."""
    measures = generator.read_catalogue(ROOT)
    assert [measure.measure_id for measure in measures if measure.has_own_table] == ["ward"]
    for measure in measures:
        folder = "" if measure.has_own_table else "measures"
        assert (ROOT / "models" / "marts" / folder / f"{measure.measure_id}.sql").exists()


def project_with_seeds(tmp_path: Path) -> Path:
    """A project holding only the catalogue's seeds and the models it names."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "seeds", project / "seeds")
    for model in ("int_clients_categorised", "int_measure_members_categorised"):
        (project / "models").mkdir(exist_ok=True)
        (project / "models" / f"{model}.sql").write_text("select 1\n")
    return project


def add_measure(project: Path, row: str) -> None:
    with open(project / "seeds" / "measures.csv", "a", encoding="utf-8") as file:
        file.write(row + "\n")


@pytest.mark.fast
@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            "new_measure,22,7.1.19,New,client,all clients,,int_new_measure,seed,",
            "no model int_new_measure.sql under models/",
        ),
        (
            "new_measure,22,7.1.19,New,household,all clients,,int_clients_categorised,seed,",
            "unit must be one of client, goal",
        ),
        (
            "new_measure,22,7.1.19,New,client,all clients,,int_clients_categorised,seed,",
            "no categories in seeds/measure_categories.csv",
        ),
    ],
)
def test_the_generator_refuses_a_measure_it_cannot_follow(
    tmp_path: Path, row: str, problem: str
) -> None:
    project = project_with_seeds(tmp_path)
    add_measure(project, row)
    with pytest.raises(generator.CatalogueError, match="measure 'new_measure'") as error:
        generator.generate(project)
    assert problem in str(error.value)


@pytest.mark.fast
def test_the_generator_removes_the_files_of_a_measure_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = generator.generate(ROOT)
    generator.write(files, out)
    gone = out / "models" / "marts" / "measures" / "gone_measure.sql"
    gone.write_text((out / "models" / "marts" / "measures" / "gender.sql").read_text())
    hand_written = out / "models" / "marts" / "measures" / "hand_written.sql"
    hand_written.write_text("select 1\n")

    stale = generator.write(files, out)

    assert stale == [Path("models/marts/measures/gone_measure.sql")]
    assert not gone.exists()
    assert hand_written.exists()
