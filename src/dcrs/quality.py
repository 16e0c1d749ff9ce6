"""Data-quality checks with Great Expectations (GX) 1.x, run inside ``dbt build``.

The dbt Python model ``models/quality/quality_checks_evaluated.py`` calls
``evaluate_checks`` with dbt's own DuckDB connection: GX's SQL route runs every expectation
as SQL in DuckDB through that connection (no second connection to the file, nothing pulled
into pandas), and the model's rows become ``marts.data_quality_results`` with lineage,
documentation and tests like any other model.

Three suites, defined in ``expectations/`` (read its README):

- ``data_capture``: each field's share of its population with a recorded, valid value, as
  ``marts.data_capture`` computes it, reaches the field's threshold. GX judges the mart's
  figures; it does not compute them again.
- ``validity``: labels in their code lists, BMI, scores and WTE in range, dates not after
  the extract date, on the staged rows of the export.
- ``structure``: keys present and unique, goals and scores belong to clients, row counts
  equal the manifest, on the staged rows.

The suites are built afresh on every call in an ephemeral GX context (no GX project or
configuration is kept). Results keep counts, never a record's values (``RESULT_FORMAT``).
Data Docs are written, as static HTML that needs no network (``dcrs.data_docs``), to the
folder the model's configuration names, under a run name of the service and extract; the
run's validation results are added to those of earlier runs kept in that folder
(``results/``, copied from the published release into the build), so the Data Docs list
every run. GX is imported only inside the functions that use it:
it costs seconds to import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from dcrs.data_docs import write_site

SUITE_FILES = ("data_capture.yml", "validity.yml", "structure.yml")
DATASOURCE_NAME = "dcrs_warehouse"
CHECKPOINT_NAME = "dcrs_quality"
# Counts only: no unexpected value, row or index list is fetched, kept or rendered, so no
# record's values (a postcode, a date of birth, a hostile label) reach a result or Data
# Docs. marts.data_quality_results reads unexpected_count and observed_value, which stay.
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "exclude_unexpected_values": True,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}
# The columns of the model's rows, in order.
RESULT_COLUMNS = {
    "check_order": "integer",
    "suite": "varchar",
    "check_id": "varchar",
    "field": "varchar",
    "description": "varchar",
    "expectation": "varchar",
    "unexpected_count": "double",
    "passed": "boolean",
}


class QualityCheckError(Exception):
    """A check could not be evaluated (as opposed to: the data failed it)."""


@dataclass(frozen=True)
class CheckDefinition:
    """One expectation, resolved against the warehouse and ready to hand to GX."""

    suite: str
    check: str
    field: str | None
    description: str
    asset: str
    expectation: str
    kwargs: dict[str, Any]
    population: str | None = None
    threshold: float | None = None

    @property
    def meta(self) -> dict[str, Any]:
        """Carried by the expectation into its result and Data Docs."""
        meta = {
            "suite": self.suite,
            "check": self.check,
            "field": self.field,
            "description": self.description,
        }
        if self.suite == "data_capture":
            meta |= {"population": self.population, "threshold_percent": self.threshold}
        return meta


@dataclass
class SuiteDefinitions:
    """Every check of every suite, and the SQL of each asset the checks run on."""

    assets: dict[str, str] = field(default_factory=dict)
    checks: list[CheckDefinition] = field(default_factory=list)

    def add_asset(self, name: str, query: str) -> None:
        known = self.assets.setdefault(name, query)
        if known != query:
            raise ValueError(f"asset {name} is defined twice, with different queries")


# --- suite definitions ----------------------------------------------------------------------


class _WarehouseLookup:
    """Values the suite files refer to, read from the warehouse once per build."""

    def __init__(self, con: duckdb.DuckDBPyConnection, variables: dict[str, Any]):
        self.variables = variables
        self.code_lists: dict[str, list[str]] = {}
        for code_list, code_key in con.execute(
            "select code_list, code_key from intermediate.int_code_lists_keyed "
            "order by code_list, code_order"
        ).fetchall():
            self.code_lists.setdefault(code_list, []).append(code_key)
        self.row_counts = dict(
            con.execute(
                "select file_name, manifest_row_count from staging.stg_dcrs__export_files"
            ).fetchall()
        )

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((kind, name),) = value.items()
            if kind == "code_list":
                return list(self.code_lists[name])
            if kind == "dbt_var":
                return self.variables[name]
            if kind == "manifest_row_count":
                return self.row_counts[name]
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value


def _read_suite_file(folder: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((folder / name).read_text(encoding="utf-8"))


def _capture_checks(
    con: duckdb.DuckDBPyConnection, folder: Path, definitions: SuiteDefinitions
) -> None:
    """One check per field of marts.data_capture at the extract being built, judging the
    mart's percent against the mart's threshold."""
    spec = _read_suite_file(folder, "data_capture.yml")
    asset = spec["asset"]
    definitions.add_asset(asset["name"], asset["query"])
    fields = con.execute(
        f"select field, population, threshold_percent from ({asset['query']}) order by field_order"
    ).fetchall()
    for name, population, threshold in fields:
        values = {"field": name, "population": population, "threshold": threshold}
        definitions.checks.append(
            CheckDefinition(
                suite=spec["suite"],
                check=spec["check_id"].format(**values),
                field=name,
                description=spec["description"].format(**values),
                asset=asset["name"],
                expectation=spec["expectation"],
                kwargs=dict(spec["kwargs"]),
                population=population,
                threshold=threshold,
            )
        )


def _listed_checks(
    folder: Path, name: str, lookup: _WarehouseLookup, definitions: SuiteDefinitions
) -> None:
    spec = _read_suite_file(folder, name)
    for asset, query in spec["assets"].items():
        definitions.add_asset(asset, query)
    for check in spec["checks"]:
        if check["asset"] not in spec["assets"]:
            raise ValueError(f"{name}: {check['check']} names an unknown asset {check['asset']}")
        kwargs = lookup.resolve(check["kwargs"])
        definitions.checks.append(
            CheckDefinition(
                suite=spec["suite"],
                check=check["check"],
                field=check.get("field"),
                description=" ".join(check["description"].format(**kwargs).split()),
                asset=check["asset"],
                expectation=check["expectation"],
                kwargs=kwargs,
            )
        )


def load_definitions(
    con: duckdb.DuckDBPyConnection, folder: Path, variables: dict[str, Any]
) -> SuiteDefinitions:
    """Read the suite files in ``folder`` and resolve them against the warehouse: code
    lists, capture thresholds and manifest row counts come from its tables, ranges from
    ``variables`` (dbt's), so each has one source of truth."""
    definitions = SuiteDefinitions()
    lookup = _WarehouseLookup(con, variables)
    _capture_checks(con, folder, definitions)
    for name in SUITE_FILES[1:]:
        _listed_checks(folder, name, lookup, definitions)
    checks = [check.check for check in definitions.checks]
    duplicated = sorted({check for check in checks if checks.count(check) > 1})
    if duplicated:
        raise ValueError(f"check ids must be unique: {', '.join(duplicated)}")
    return definitions


# --- Great Expectations ---------------------------------------------------------------------


class _DuckDBDialectName(str):
    """'duckdb' as GX's dialect list expects an entry: equal to the dialect's name, and
    with the ``.value`` that GX reads off its own GXSqlDialect members."""

    @property
    def value(self) -> str:
        return str(self)


DUCKDB_DIALECT = _DuckDBDialectName("duckdb")


def keep_one_duckdb_connection() -> None:
    """Make GX keep one persistent connection for DuckDB, as it does for SQLite.

    Through duckdb-engine, GX reads a query's result after handing its pooled connection
    back, and the result set is lost: every expectation then fails with
    ``MetricResolutionError: list index out of range`` (GX issues #10738, #11579). GX keeps
    a single persistent connection for the dialects listed in
    ``great_expectations.execution_engine.sqlalchemy_execution_engine.
    _PERSISTED_CONNECTION_DIALECTS``; adding DuckDB there makes every expectation resolve.
    tests/test_quality.py fails if a GX upgrade removes the list or the fix stops working.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    dialects = getattr(engine, "_PERSISTED_CONNECTION_DIALECTS", None)
    if dialects is None:
        raise QualityCheckError(
            "great_expectations no longer has sqlalchemy_execution_engine."
            "_PERSISTED_CONNECTION_DIALECTS: the DuckDB connection fix in dcrs.quality "
            "must be redone for this GX version (see ../shared/notes/stack.md)"
        )
    if DUCKDB_DIALECT not in dialects:
        engine._PERSISTED_CONNECTION_DIALECTS = (*dialects, DUCKDB_DIALECT)


def engine_options(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """SQLAlchemy options that make an engine use ``con`` (dbt's connection: a second
    connection to the file would be refused while dbt holds it open read-write)."""
    from duckdb_engine import ConnectionWrapper

    return {"creator": lambda: ConnectionWrapper(con)}


def _exception_message(exception_info: Any) -> str | None:
    """The error GX caught while evaluating an expectation, if any. GX gives either one
    {raised_exception, exception_message, ...} or a mapping of metric to such a record."""
    if not exception_info:
        return None
    records = [exception_info] if "raised_exception" in exception_info else []
    records += [value for value in exception_info.values() if isinstance(value, dict)]
    for record in records:
        if record.get("raised_exception"):
            return str(record.get("exception_message") or "an exception was raised")
    return None


def _unexpected(definition: CheckDefinition, result: dict[str, Any]) -> float:
    """How many rows the check found wrong (for a row count: how many more or fewer)."""
    if "unexpected_count" in result:
        return float(result["unexpected_count"] or 0)
    if definition.expectation == "ExpectTableRowCountToEqual":
        return float(abs(result["observed_value"] - definition.kwargs["value"]))
    return float(result["observed_value"])


def run_name(con: duckdb.DuckDBPyConnection) -> str:
    """The run's name in Data Docs: the service code and extract date of the export being
    built (``KC-2010-08-31``). GX makes it a folder name: characters other than letters,
    digits, '-' and '_' become '_'."""
    service_code, extract_date = con.execute(
        "select service_code, extract_date from staging.stg_dcrs__manifests"
    ).fetchone()
    return re.sub(r"[^A-Za-z0-9_-]+", "_", f"{service_code}-{extract_date:%Y-%m-%d}")


def run_checks(
    con: duckdb.DuckDBPyConnection,
    definitions: SuiteDefinitions,
    data_docs_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run every check through ``con``; one result per check, in the definitions' order.
    Raises QualityCheckError when a check cannot be evaluated at all."""
    import great_expectations as gx
    from great_expectations import expectations as gxe
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.expectations.row_conditions import Column

    keep_one_duckdb_connection()
    # No temporary docs site: Data Docs are written to the folder write_site names, and
    # GX's default ephemeral context logs (at INFO, to the terminal) the temporary folder
    # it would otherwise make for one.
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
        ),
    )
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_sql(
        name=DATASOURCE_NAME, connection_string="duckdb:///:memory:", kwargs=engine_options(con)
    )
    # Query assets, not table assets: with SQLAlchemy 2.1, duckdb-engine cannot reflect a
    # table's columns, and GX's fallback then drops the schema from the table name.
    batches = {
        name: datasource.add_query_asset(name=name, query=query).add_batch_definition_whole_table(
            name=name
        )
        for name, query in definitions.assets.items()
    }
    suites: dict[tuple[str, str], Any] = {}
    for definition in definitions.checks:
        key = (definition.suite, definition.asset)
        if key not in suites:
            suites[key] = gx.ExpectationSuite(name=f"{definition.suite}.{definition.asset}")
        kwargs = dict(definition.kwargs)
        if definition.suite == "data_capture":
            kwargs["row_condition"] = Column("field") == definition.field
        expectation_class = getattr(gxe, definition.expectation)
        suites[key].add_expectation(
            expectation_class(**kwargs, description=definition.description, meta=definition.meta)
        )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=CHECKPOINT_NAME,
            validation_definitions=[
                context.validation_definitions.add(
                    gx.ValidationDefinition(
                        name=suite.name, data=batches[asset], suite=context.suites.add(suite)
                    )
                )
                for (_, asset), suite in suites.items()
            ],
            result_format=dict(RESULT_FORMAT),
        )
    )
    outcome = checkpoint.run(
        run_id=RunIdentifier(run_name=run_name(con), run_time=datetime.now(UTC))
    )
    if data_docs_dir is not None:
        # built once, after every suite has run: an UpdateDataDocsAction in the checkpoint
        # would rebuild the whole site once per validation definition
        write_site(context, Path(data_docs_dir))

    by_check = {definition.check: definition for definition in definitions.checks}
    results: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for suite_result in outcome.run_results.values():
        for expectation_result in suite_result.results:
            check = expectation_result.expectation_config.meta["check"]
            error = _exception_message(expectation_result.exception_info)
            if error is not None:
                errors.append(f"{check}: {error.splitlines()[0]}")
                continue
            definition = by_check[check]
            results[check] = {
                "suite": definition.suite,
                "check_id": check,
                "field": definition.field,
                "description": definition.description,
                "expectation": definition.expectation,
                "unexpected_count": _unexpected(definition, expectation_result.result),
                "passed": bool(expectation_result.success),
            }
    missing = [check for check in by_check if check not in results and not errors]
    if missing:
        errors.append(f"no result for {', '.join(missing)}")
    if errors:
        raise QualityCheckError(
            "Great Expectations could not evaluate every check:\n" + "\n".join(errors)
        )
    return [{"check_order": order, **results[check]} for order, check in enumerate(by_check, 1)]


def evaluate_checks(
    session: duckdb.DuckDBPyConnection,
    expectations_dir: Path,
    variables: dict[str, Any],
    data_docs_dir: Path | None = None,
    search_path: str | None = None,
) -> duckdb.DuckDBPyRelation:
    """Build the suites, run them through a cursor of dbt's connection ``session``, and
    return the results as a relation on ``session`` (the model's rows). ``search_path``
    (DuckDB's, e.g. ``warehouse.main,private.staging``) says where the suites' schema.table
    names are found when the tables span two attached databases; it is set on the cursor
    only, and ``session`` is left as it was."""
    con = session.cursor()
    try:
        if search_path:
            quoted = search_path.replace("'", "''")
            con.execute(f"set search_path = '{quoted}'")
        definitions = load_definitions(con, expectations_dir, variables)
        rows = run_checks(con, definitions, data_docs_dir)
    finally:
        con.close()
    values = ", ".join(["(" + ", ".join(["?"] * len(RESULT_COLUMNS)) + ")"] * len(rows))
    casts = ", ".join(f"{name}::{kind} as {name}" for name, kind in RESULT_COLUMNS.items())
    return session.sql(
        f"select {casts} from (values {values}) as checks ({', '.join(RESULT_COLUMNS)})",
        params=[row[name] for row in rows for name in RESULT_COLUMNS],
    )
