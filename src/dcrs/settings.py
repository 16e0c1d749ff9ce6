"""The settings every part of the pipeline reads, in one place: where the dbt project is,
its variables, the warehouse's schema version and DuckDB's memory limit.

The dbt project (``dbt_project.yml``, ``models/``, ``seeds/``, ``expectations/``) is data
the package runs, not part of the package: ``DCRS_PROJECT_DIR`` names it. Unset, it is the
checkout the package was installed from (``pip install -e .`` or ``uv sync``), else the
current directory, whichever holds ``dbt_project.yml``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR_VARIABLE = "DCRS_PROJECT_DIR"
MEMORY_LIMIT_VARIABLE = "DCRS_DUCKDB_MEMORY_LIMIT"
PROJECT_FILE = "dbt_project.yml"
# src/dcrs/settings.py -> the checkout's root
CHECKOUT = Path(__file__).resolve().parents[2]

# DuckDB's memory for the load and for dbt (profiles.yml reads the same variable, with the
# same default); beyond it DuckDB spills to temporary files beside the database instead
# of failing. docs/performance.md gives what each size of export needs.
DEFAULT_MEMORY_LIMIT = "400MB"

# The sample `dcrs run` loads when no export is named, relative to the project. The
# schedule has no default inbox (the worker's DCRS_INBOX, dcrs.prefect_runtime).
SAMPLE_EXPORT = Path("data", "sample", "kc-2010-08-31")
DEFAULT_WAREHOUSE = Path("warehouse", "dcrs.duckdb")


class ProjectNotFound(Exception):
    """No dbt project where the settings say it is."""


def project_dir() -> Path:
    """The dbt project's folder (see the module's docstring)."""
    configured = os.environ.get(PROJECT_DIR_VARIABLE)
    if configured:
        folder = Path(configured).expanduser().resolve()
        if not (folder / PROJECT_FILE).is_file():
            raise ProjectNotFound(
                f"{PROJECT_DIR_VARIABLE}={configured}: no {PROJECT_FILE} in {folder}"
            )
        return folder
    for folder in (CHECKOUT, Path.cwd().resolve()):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ProjectNotFound(
        f"no dbt project found: set {PROJECT_DIR_VARIABLE} to the folder holding "
        f"{PROJECT_FILE} (the pipeline's checkout), or run from that folder"
    )


@cache
def _variables(project: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((project / PROJECT_FILE).read_text(encoding="utf-8"))["vars"])


def dbt_vars(project: Path | None = None) -> dict[str, Any]:
    """The variables of ``dbt_project.yml``: the only place Python reads them."""
    return dict(_variables((project or project_dir()).resolve()))


def schema_version(project: Path | None = None) -> int:
    """The version of the warehouse's tables that this project builds (the dbt variable
    ``warehouse_schema_version``, raised whenever an incremental model's columns change)."""
    return int(dbt_vars(project)["warehouse_schema_version"])


def memory_limit() -> str:
    """DuckDB's memory limit for a run: ``DCRS_DUCKDB_MEMORY_LIMIT``, or the default."""
    return os.environ.get(MEMORY_LIMIT_VARIABLE) or DEFAULT_MEMORY_LIMIT


PRIVATE_GROUP_VARIABLE = "DCRS_PRIVATE_GROUP"
_STARTING_UMASK: list[int] = []


def private_group() -> str | None:
    """The group that may read the private store (the data lead's), if one is set."""
    return os.environ.get(PRIVATE_GROUP_VARIABLE) or None


def protect_new_files() -> int:
    """From now on, files this process creates (the private store, its write-ahead log,
    DuckDB's spill files, the loader's temporary copies) are readable by their owner only,
    or also by the private group when ``DCRS_PRIVATE_GROUP`` is set. Returns the umask the
    process started with, which the published aggregates are given back."""
    previous = os.umask(0o027 if private_group() else 0o077)
    if not _STARTING_UMASK:
        _STARTING_UMASK.append(previous)
    return _STARTING_UMASK[0]
