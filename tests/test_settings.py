"""Where the package finds its dbt project, the settings read in one place, and imports
that work where POSIX-only modules do not exist (Windows)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from dcrs import settings

pytestmark = pytest.mark.fast


def test_the_project_is_the_checkout_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv(settings.PROJECT_DIR_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)  # not the current directory: the checkout
    assert settings.project_dir() == ROOT


def test_the_project_can_be_named(monkeypatch, tmp_path):
    (tmp_path / "dbt_project.yml").write_text("name: x\nvars: {warehouse_schema_version: 9}\n")
    monkeypatch.setenv(settings.PROJECT_DIR_VARIABLE, str(tmp_path))
    assert settings.project_dir() == tmp_path.resolve()
    assert settings.schema_version() == 9


def test_a_named_folder_without_a_project_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv(settings.PROJECT_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(settings.ProjectNotFound, match="DCRS_PROJECT_DIR=.*no dbt_project.yml"):
        settings.project_dir()


def test_the_memory_limit_has_one_default(monkeypatch):
    """profiles.yml (dbt by hand) and the pipeline (every run) default to the same limit."""
    profile = yaml.safe_load((ROOT / "profiles.yml").read_text())
    limit = profile["dcrs"]["outputs"]["warehouse"]["settings"]["memory_limit"]
    assert limit == (
        "{{ env_var('" + settings.MEMORY_LIMIT_VARIABLE + "', '"
        f"{settings.DEFAULT_MEMORY_LIMIT}') }}}}"
    )
    monkeypatch.delenv(settings.MEMORY_LIMIT_VARIABLE, raising=False)
    assert settings.memory_limit() == settings.DEFAULT_MEMORY_LIMIT
    monkeypatch.setenv(settings.MEMORY_LIMIT_VARIABLE, "300MB")
    assert settings.memory_limit() == "300MB"


def test_every_module_imports_without_posix_only_modules(tmp_path):
    """As on Windows: no fcntl (nor other POSIX-only module) at import time, in any module
    of the package; the command line answers --help from another folder."""
    code = (
        "import sys, pkgutil, importlib\n"
        "for name in ('fcntl', 'termios', 'pwd', 'grp', 'resource'):\n"
        "    sys.modules[name] = None\n"
        "import dcrs\n"
        "for module in pkgutil.walk_packages(dcrs.__path__, 'dcrs.'):\n"
        "    importlib.import_module(module.name)\n"
        "    print(module.name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert {"dcrs.cli", "dcrs.pipeline", "dcrs.locking", "dcrs.rebuild"} <= set(
        result.stdout.split()
    )
    helped = subprocess.run(
        [str(Path(sys.executable).with_name("dcrs")), "run", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "100"},
        check=False,
    )
    assert helped.returncode == 0, helped.stderr
    assert "--export" in helped.stdout


def _imports_of(path: Path) -> set[str]:
    """The dcrs modules a module imports, at any level (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dcrs"):
            if node.module == "dcrs":
                found |= {f"dcrs.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("dcrs.")}
    return found


def test_no_module_imports_one_that_imports_it_back():
    package = ROOT / "src" / "dcrs"
    graph = {f"dcrs.{path.stem}": _imports_of(path) for path in package.glob("*.py")}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for module in graph.get(start, ()):
            if module == target or (
                module not in seen and reaches(module, target, seen | {module})
            ):
                return True
        return False

    cycles = sorted(module for module in graph if reaches(module, module, {module}))
    assert cycles == []
    # the check can fail: a module importing one of its importers is found
    graph["dcrs.summary"] = graph["dcrs.summary"] | {"dcrs.pipeline"}
    assert reaches("dcrs.pipeline", "dcrs.pipeline", {"dcrs.pipeline"})
