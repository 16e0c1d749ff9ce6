"""Data-quality checks on a built warehouse, with Great Expectations (GX) 1.x.

Three suites, defined in ``expectations/`` (read its README):

- ``data_capture``: for every field of the data_capture_fields seed, the share of its
  population with a recorded, valid value reaches the field's threshold. GX computes it
  from ``intermediate.int_capture_fields_unpivoted``, the model that ``marts.data_capture``
  aggregates, so the two are independent figures from the same rows.
- ``validity``: labels in their code lists, BMI, scores and WTE in range, dates not after
  the extract date, on the staged rows of the export.
- ``structure``: keys present and unique, goals and scores belong to clients, row counts
  equal the manifest, on the staged rows.

The suites are rebuilt on every call in an ephemeral GX context (nothing is stored, so
re-running is safe and leaves no GX state behind) and run through GX's SQL route on the
DuckDB file, opened read-only: every expectation is pushed down to DuckDB as SQL. Data Docs
are written, as static HTML, to the directory the caller names.

GX is imported inside :func:`run_quality_checks` only: it costs seconds to import.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

PROJECT_DIR = Path(os.environ.get("DCRS_PROJECT_DIR", Path(__file__).resolve().parents[2]))
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
DBT_PROJECT_FILE = PROJECT_DIR / "dbt_project.yml"
SUITE_FILES = ("data_capture.yml", "validity.yml", "structure.yml")

DATASOURCE_NAME = "dcrs_warehouse"
DATA_DOCS_SITE = "dcrs_quality"
CHECKPOINT_NAME = "dcrs_quality"
# What GX writes into a Data Docs site; cleared before each build so pages of an earlier
# run never linger beside this run's.
DATA_DOCS_ENTRIES = ("index.html", "static", "expectations", "validations")


@dataclass
class CheckResult:
    suite: str  # 'data_capture' | 'validity' | 'structure'
    check: str  # short stable id, e.g. 'capture:disability', 'validity:bmi_range'
    field: str | None  # the export field it concerns, where there is one
    description: str  # one plain-English sentence of what is checked
    observed_value: float | None  # capture: percent captured (0-100); others: unexpected rows
    threshold: float | None  # capture: threshold percent; others: None (0 unexpected allowed)
    passed: bool
    recorded: int | None = None  # capture checks: units with a recorded, valid value
    total: int | None = None  # capture checks: units in the population
    population: str | None = None  # capture checks: as in the seed


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


def dbt_vars() -> dict[str, Any]:
    """The variables of dbt_project.yml (the thresholds' default, the BMI range, ...)."""
    return yaml.safe_load(DBT_PROJECT_FILE.read_text())["vars"]


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


def _read_suite_file(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXPECTATIONS_DIR / name).read_text())


def _capture_checks(
    con: duckdb.DuckDBPyConnection, variables: dict[str, Any], definitions: SuiteDefinitions
) -> None:
    spec = _read_suite_file("data_capture.yml")
    definitions.add_asset(spec["asset"]["name"], spec["asset"]["query"])
    default = float(variables[spec["default_threshold_var"]])
    fields = con.execute(
        f"select field, population, threshold_percent from {spec['fields_table']} "
        "order by field_order"
    ).fetchall()
    for name, population, threshold_percent in fields:
        threshold = default if threshold_percent is None else float(threshold_percent)
        values = {"field": name, "population": population, "threshold": threshold}
        definitions.checks.append(
            CheckDefinition(
                suite=spec["suite"],
                check=spec["check_id"].format(**values),
                field=name,
                description=spec["description"].format(**values),
                asset=spec["asset"]["name"],
                expectation="ExpectColumnValuesToBeInSet",
                kwargs={
                    "column": spec["column"],
                    "value_set": [True],
                    "mostly": threshold / 100,
                },
                population=population,
                threshold=threshold,
            )
        )


def _listed_checks(name: str, lookup: _WarehouseLookup, definitions: SuiteDefinitions) -> None:
    spec = _read_suite_file(name)
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


def load_definitions(warehouse: Path) -> SuiteDefinitions:
    """Read the suite files of expectations/ and resolve them against ``warehouse``: code
    lists, thresholds and manifest row counts come from the warehouse, ranges from the dbt
    project, so each has one source of truth."""
    variables = dbt_vars()
    definitions = SuiteDefinitions()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lookup = _WarehouseLookup(con, variables)
        _capture_checks(con, variables, definitions)
        for name in SUITE_FILES[1:]:
            _listed_checks(name, lookup, definitions)
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
    a single persistent connection (a StaticPool) for the dialects listed in
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


def warehouse_url(warehouse: Path) -> str:
    """SQLAlchemy URL of the warehouse, opened read-only (duckdb-engine passes the query
    string to DuckDB as configuration)."""
    from sqlalchemy.engine import URL

    url = URL.create(
        "duckdb", database=str(warehouse.resolve()), query={"access_mode": "read_only"}
    )
    return url.render_as_string(hide_password=False)


def release_connections(datasource: Any) -> None:
    """Close every connection a GX SQL data source holds to the warehouse: the persistent
    one of its execution engine and the pool of its own engine (which tested the
    connection). Done at once, not when they are garbage collected: the pipeline opens the
    file read-write next, in the same process, and DuckDB refuses that while a connection
    with another configuration (read-only) is open."""
    execution_engine = datasource.get_execution_engine()
    if execution_engine._connection is not None:
        execution_engine._connection.close()
        execution_engine._connection = None
    execution_engine.close()
    datasource.get_engine().dispose()


def _clear_data_docs(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in DATA_DOCS_ENTRIES:
        entry = directory / name
        if entry.is_dir():
            shutil.rmtree(entry)
        elif entry.exists():
            entry.unlink()


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


def _check_result(definition: CheckDefinition, expectation_result: Any) -> CheckResult:
    result = expectation_result.result
    passed = bool(expectation_result.success)
    if definition.suite == "data_capture":
        total = int(result.get("element_count") or 0)
        missing = int(result.get("missing_count") or 0)
        recorded = total - missing - int(result.get("unexpected_count") or 0)
        return CheckResult(
            suite=definition.suite,
            check=definition.check,
            field=definition.field,
            description=definition.description,
            observed_value=100.0 * recorded / total if total else None,
            threshold=definition.threshold,
            passed=passed,
            recorded=recorded,
            total=total,
            population=definition.population,
        )
    if "unexpected_count" in result:
        observed = result["unexpected_count"]
    elif definition.expectation == "ExpectTableRowCountToEqual":
        observed = abs(result["observed_value"] - definition.kwargs["value"])
    else:
        observed = result["observed_value"]
    return CheckResult(
        suite=definition.suite,
        check=definition.check,
        field=definition.field,
        description=definition.description,
        observed_value=float(observed),
        threshold=None,
        passed=passed,
    )


def import_great_expectations() -> None:
    """Import the parts of GX that run_quality_checks uses (the pipeline does it early, in
    a thread)."""
    import great_expectations  # noqa: F401
    from great_expectations import expectations  # noqa: F401
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: F401
    from great_expectations.expectations.row_conditions import Column  # noqa: F401


def run_quality_checks(warehouse: Path, data_docs_dir: Path | None = None) -> list[CheckResult]:
    """Build (or rebuild) the suites and run them against the DuckDB file; write Data Docs to
    data_docs_dir when given.

    Results come in suite order (data_capture in the seed's field order, then validity and
    structure in the order of their files). Raises QualityCheckError when a check cannot be
    evaluated at all. Nothing is written to the warehouse.
    """
    warehouse = Path(warehouse).resolve()
    if not warehouse.is_file():
        raise FileNotFoundError(f"{warehouse}: no such warehouse")
    definitions = load_definitions(warehouse)

    import great_expectations as gx
    from great_expectations import expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.row_conditions import Column

    keep_one_duckdb_connection()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_sql(
        name=DATASOURCE_NAME, connection_string=warehouse_url(warehouse)
    )
    try:
        # Query assets, not table assets: with SQLAlchemy 2.1, duckdb-engine cannot reflect
        # a table's columns, and GX's fallback then drops the schema from the table name.
        batches = {
            name: datasource.add_query_asset(
                name=name, query=query
            ).add_batch_definition_whole_table(name=name)
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
                expectation_class(
                    **kwargs, description=definition.description, meta=definition.meta
                )
            )
        validation_definitions = [
            context.validation_definitions.add(
                gx.ValidationDefinition(
                    name=suite.name,
                    data=batches[asset],
                    suite=context.suites.add(suite),
                )
            )
            for (_, asset), suite in suites.items()
        ]
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=CHECKPOINT_NAME,
                validation_definitions=validation_definitions,
                result_format={"result_format": "SUMMARY"},
            )
        )
        outcome = checkpoint.run()
        if data_docs_dir is not None:
            # Built once, after every suite has run: an UpdateDataDocsAction in the
            # checkpoint would rebuild the whole site once per validation definition.
            data_docs_dir = Path(data_docs_dir).resolve()
            _clear_data_docs(data_docs_dir)
            context.add_data_docs_site(
                site_name=DATA_DOCS_SITE,
                site_config={
                    "class_name": "SiteBuilder",
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(data_docs_dir),
                    },
                },
            )
            context.build_data_docs(site_names=[DATA_DOCS_SITE])
    finally:
        release_connections(datasource)

    by_check = {definition.check: definition for definition in definitions.checks}
    results: dict[str, CheckResult] = {}
    errors: list[str] = []
    for suite_result in outcome.run_results.values():
        for expectation_result in suite_result.results:
            check = expectation_result.expectation_config.meta["check"]
            error = _exception_message(expectation_result.exception_info)
            if error is not None:
                errors.append(f"{check}: {error.splitlines()[0]}")
                continue
            results[check] = _check_result(by_check[check], expectation_result)
    missing = [check for check in by_check if check not in results and not errors]
    if missing:
        errors.append(f"no result for {', '.join(missing)}")
    if errors:
        raise QualityCheckError(
            "Great Expectations could not evaluate every check:\n" + "\n".join(errors)
        )
    return [results[check] for check in by_check]


def format_results(results: list[CheckResult]) -> str:
    """The results as a plain table, for a person reading a terminal."""
    lines = []
    for result in results:
        status = "pass" if result.passed else "FAIL"
        if result.suite == "data_capture":
            observed = (
                "empty population"
                if result.observed_value is None
                else f"{result.observed_value:5.1f}% ({result.recorded}/{result.total}) "
                f"of {result.population}, threshold {result.threshold:g}%"
            )
        else:
            observed = f"{result.observed_value:g} unexpected"
        lines.append(f"{status}  {result.check:<42} {observed}")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m dcrs.quality WAREHOUSE [DATA_DOCS_DIR]
    import sys

    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m dcrs.quality WAREHOUSE.duckdb [DATA_DOCS_DIR]")
    docs = Path(sys.argv[2]) if len(sys.argv) == 3 else None
    checked = run_quality_checks(Path(sys.argv[1]), docs)
    print(format_results(checked))
    if docs is not None:
        print(f"Data Docs: {docs.resolve() / 'index.html'}")
    sys.exit(0 if all(result.passed for result in checked) else 1)
