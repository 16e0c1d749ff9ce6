"""The private store (issue 15): the warehouse analysts are told to open holds aggregates
only, and every row-level table lives in a second DuckDB file beside it
(dcrs.duckdb -> dcrs.private.duckdb; docs/private-store.md).

- the warehouse opened on its own (read-only, nothing attached) answers every table and
  view in it: no view reaches into the private store;
- it has no `raw` schema and no table with a column that identifies a record or holds
  a personal value (client_id, goal_id, date_of_birth, postcode, ...);
- the private store beside it holds the row-level tables the pipeline needs.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import ROOT

# Columns that make a table row-level (a row per client, goal, score or trainer, under
# whatever name) or carry a personal value. `line` (audit.load_issues: where a problem is
# in the export) is allowed: it points into the service's own file and holds no value.
ROW_LEVEL_COLUMNS = frozenset(
    {
        "client_id",
        "goal_id",
        "health_trainer_id",
        "record_key",
        "unit_id",
        "source_line",
        "field_values",
        "date_of_birth",
        "postcode",
    }
)
# Marts of figures per health trainer, for the service's manager (issue 18: funnel plots):
# aggregates of the trainer's clients, keyed by the trainer's code, never published
# (docs/decisions.md, "Funnel plots and data capture by group"). Every other table of the
# warehouse still may not hold a health_trainer_id. The report's funnel views show them
# (unit_id: a trainer's code in report_funnel_trainers, a service's code in
# report_funnel_services), in marts only.
TRAINER_AGGREGATES = frozenset(
    {
        "marts.funnel_trainers.health_trainer_id",
        "marts.report_funnel_trainers.unit_id",
        "marts.report_funnel_services.unit_id",
    }
)
PRIVATE_STORE_NAME = "dcrs.private.duckdb"


@pytest.fixture(scope="module")
def warehouse(sample_warehouse: Path) -> Path:
    """The sample's warehouse, built by `dcrs run`, when a private store sits beside it."""
    if not sample_warehouse.with_name(PRIVATE_STORE_NAME).exists():
        pytest.skip(
            f"no private store ({PRIVATE_STORE_NAME}) beside the sample's warehouse: "
            "`dcrs run` does not write one yet (issue 15, the Python side; "
            "docs/private-store.md)"
        )
    return sample_warehouse


def relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """Every table and view of the open database: (schema, name, type)."""
    return con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = current_database() order by all"
    ).fetchall()


def test_the_warehouse_alone_answers_every_table_and_view(warehouse):
    failures = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        databases = con.execute(
            "select database_name from duckdb_databases() where not internal"
        ).fetchall()
        assert databases == [("dcrs",)], "the warehouse was opened with another attached"
        found = relations(con)
        for schema, name, kind in found:
            try:
                con.execute(f'select * from "{schema}"."{name}"').fetchall()
            except duckdb.Error as error:
                failures.append(f"{kind} {schema}.{name}: {str(error).splitlines()[0]}")
    assert len(found) > 40, found  # the marts, published, audit and reference relations
    assert not failures, "\n".join(failures)


def test_the_warehouse_holds_no_row_level_table(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        schemas = {schema for schema, _, _ in relations(con)}
        row_level = con.execute(
            "select table_schema || '.' || table_name || '.' || column_name "
            "from information_schema.columns "
            "where table_catalog = current_database() and column_name in ? order by all",
            [sorted(ROW_LEVEL_COLUMNS)],
        ).fetchall()
        (load_issue_values,) = con.execute(
            "select count(*) from information_schema.columns where table_schema = 'audit' "
            "and table_name = 'load_issues' and column_name = 'value'"
        ).fetchone()
    assert schemas >= {"marts", "published", "audit", "reference"}, schemas
    assert not schemas & {"raw", "staging", "intermediate", "quality"}, schemas
    assert [column for (column,) in row_level if column not in TRAINER_AGGREGATES] == []
    assert load_issue_values == 0, "audit.load_issues keeps the values it lists"


def test_the_private_store_holds_the_row_level_tables(warehouse):
    private = warehouse.with_name(PRIVATE_STORE_NAME)
    with duckdb.connect(str(private), read_only=True) as con:
        tables = {(schema, name) for schema, name, _ in relations(con)}
        assert {
            ("raw", "clients"),
            ("staging", "stg_dcrs__clients"),
            ("intermediate", "int_clients_validated"),
            ("history", "record_versions"),
            ("audit", "load_issue_values"),
        } <= tables, tables
        (clients,) = con.execute("select count(*) from raw.clients").fetchone()
    assert clients == 116  # the sample's clients.csv


@pytest.mark.fast
def test_dbt_creates_files_in_the_loaders_storage_version():
    """A warehouse or private store that dbt creates (a first run) can be read by the
    DuckDB 1.5 that BI tools may still use, as the files the loader creates can."""
    from dcrs.pipeline import STORAGE_VERSION

    profile = yaml.safe_load((ROOT / "profiles.yml").read_text())
    options = profile["dcrs"]["outputs"]["warehouse"]["config_options"]
    assert options["storage_compatibility_version"] == STORAGE_VERSION
