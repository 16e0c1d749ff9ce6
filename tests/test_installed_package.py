"""The package installed from a wheel into a new environment, away from its checkout, runs
the pipeline on the dbt project that DCRS_PROJECT_DIR names, and says plainly when it
cannot find one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, connect


def uv() -> list[str]:
    """uv, as `make setup` installs it (with the base interpreter's pip)."""
    found = shutil.which("uv")
    if found:
        return [found]
    base = Path(sys.base_prefix) / "bin" / "python3"
    return [str(base), "-m", "uv"]


def run(command: list[str], **options) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **options)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A new environment holding the wheel of this checkout and its locked dependencies."""
    work = tmp_path_factory.mktemp("installed")
    built = run([*uv(), "build", "--wheel", "--out-dir", str(work / "dist")], cwd=ROOT)
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("*.whl")
    requirements = run(
        [*uv(), "export", "--frozen", "--no-hashes", "--no-dev", "--no-emit-project"], cwd=ROOT
    )
    assert requirements.returncode == 0, requirements.stderr
    (work / "requirements.txt").write_text(requirements.stdout)
    environment = work / "venv"
    created = run([*uv(), "venv", "--python", sys.executable, str(environment)])
    assert created.returncode == 0, created.stderr
    python = environment / "bin" / "python"
    installed = run(
        [
            *uv(),
            "pip",
            "install",
            "--python",
            str(python),
            str(wheel),
            "-r",
            str(work / "requirements.txt"),
        ]
    )
    assert installed.returncode == 0, installed.stderr
    return environment


def test_an_installed_package_runs_the_project_it_is_pointed_at(installed, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DCRS_PROJECT_DIR"}
    dcrs = installed / "bin" / "dcrs"
    where = run(
        [str(installed / "bin" / "python"), "-c", "import dcrs; print(dcrs.__file__)"],
        cwd=tmp_path,
    )
    assert str(installed) in where.stdout  # the installed copy, not the checkout's

    lost = run([str(dcrs), "run"], cwd=tmp_path, env=env)
    assert lost.returncode == 1
    assert "no dbt project found: set DCRS_PROJECT_DIR" in lost.stderr

    warehouse = tmp_path / "w" / "dcrs.duckdb"
    result = run(
        [str(dcrs), "run", "--warehouse", str(warehouse)],
        cwd=tmp_path,
        env={**env, "DCRS_PROJECT_DIR": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    with connect(warehouse) as con:
        assert con.execute("select clients_registered from marts.service_summary").fetchall() == [
            (116,)
        ]
    assert (warehouse.with_suffix("") / "report.html").exists()
