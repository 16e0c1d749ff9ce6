"""What a BI tool does with the warehouse: Superset (SQLAlchemy with duckdb-engine) opens it
read-only, lists schemas, tables and views, reflects every table's columns and keys, and
queries the marts. Metabase and DBeaver use DuckDB's JDBC driver, which is not tested here.
"""

from __future__ import annotations

import datetime

import duckdb
import pytest
from conftest import connect, copy_warehouse

# the schemas analysts read (docs/architecture.md); the warehouse's file name is the
# database name, which duckdb-engine puts before each schema ("dcrs.marts")
ANALYST_SCHEMAS = ("marts", "published", "reference", "audit", "history")


@pytest.fixture
def bi_engine(sample_warehouse):
    from sqlalchemy import create_engine

    engine = create_engine(f"duckdb:///{sample_warehouse}", connect_args={"read_only": True})
    yield engine
    engine.dispose()


def test_superset_reflects_every_table_and_queries_every_mart(bi_engine, sample_warehouse):
    """Superset's dataset editor: schemas, then tables and views of each, then every
    table's columns, primary and foreign keys, `Table(autoload_with=...)` and
    `pandas.read_sql_table`; then a query on each mart. With SQLAlchemy 2.0.55 or later
    (duckdb-engine 0.17) column reflection fails on `pg_catalog.pg_collation` or key
    reflection on `REGCLASS`: the lock pins SQLAlchemy below 2.0.55."""
    import pandas
    from sqlalchemy import MetaData, Table, func, inspect, select

    database = sample_warehouse.stem
    with bi_engine.connect() as connection:
        inspector = inspect(connection)
        schemas = {
            name.split(".")[-1]: name
            for name in inspector.get_schema_names()
            if name.startswith(f"{database}.")
        }
        assert set(ANALYST_SCHEMAS) <= set(schemas)
        reflected = {}
        for short_name in ANALYST_SCHEMAS:
            schema = schemas[short_name]
            tables = inspector.get_table_names(schema=schema)
            views = inspector.get_view_names(schema=schema)
            assert tables or views, schema
            for name in tables + views:
                columns = inspector.get_columns(name, schema=schema)
                assert columns and all(column["name"] for column in columns), (schema, name)
                inspector.get_pk_constraint(name, schema=schema)
                inspector.get_foreign_keys(name, schema=schema)
                table = Table(name, MetaData(), schema=schema, autoload_with=connection)
                assert [column.name for column in table.columns] == [
                    column["name"] for column in columns
                ]
                reflected[(short_name, name)] = table
        assert ("marts", "measure_breakdown") in reflected
        assert ("marts", "gender") in reflected  # a view
        frame = pandas.read_sql_table("measure_breakdown", connection, schema=schemas["marts"])
        assert len(frame) > 0
        assert {"measure_id", "category", "n"} <= set(frame.columns)
        for (short_name, _), table in reflected.items():
            if short_name != "marts":
                continue
            count = connection.execute(select(func.count()).select_from(table)).scalar()
            assert count is not None
        gender = reflected[("marts", "gender")]
        assert connection.execute(select(func.count()).select_from(gender)).scalar() == 6


def test_every_table_view_and_column_analysts_read_has_a_comment(sample_warehouse):
    """persist_docs (models and seeds): each table, view and column of the schemas analysts
    read carries its YAML description as a DuckDB comment, which BI tools and the DuckDB
    CLI show. Before it none of them did. No exceptions: every one is a dbt model or seed
    (the loader's raw tables are in the private store)."""

    schemas = list(ANALYST_SCHEMAS)
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        relations = con.execute(
            """
            select schema_name, table_name, comment from duckdb_tables()
            where database_name = current_database() and schema_name in ?
            union all
            select schema_name, view_name, comment from duckdb_views()
            where database_name = current_database() and schema_name in ? and not internal
            """,
            [schemas, schemas],
        ).fetchall()
        columns = con.execute(
            """
            select schema_name, table_name, column_name, comment from duckdb_columns()
            where database_name = current_database() and schema_name in ?
            """,
            [schemas],
        ).fetchall()
        breakdown = con.execute(
            "select comment from duckdb_tables() "
            "where schema_name = 'marts' and table_name = 'measure_breakdown'"
        ).fetchone()[0]
        measure_id = con.execute(
            "select comment from duckdb_columns() where schema_name = 'marts' "
            "and table_name = 'measure_breakdown' and column_name = 'measure_id'"
        ).fetchone()[0]
    assert {schema for schema, _, _ in relations} == set(ANALYST_SCHEMAS)
    assert len(columns) > 500
    assert [row[:2] for row in relations if not (row[2] or "").strip()] == []
    assert [row[:3] for row in columns if not (row[3] or "").strip()] == []
    # the YAML's words, as dbt's docs show them
    assert breakdown.startswith("One row per measure and category")
    assert measure_id == "The measure (see the measures seed)."


@pytest.mark.parametrize("schema", ["marts", "published"])
def test_long_table_names_the_measure_and_the_service(query, schema):
    """A chart on the long table needs no join: measure_title and service_name come
    after the existing columns (the contract's 13 stay first)."""
    columns = [
        name
        for (name,) in query(
            "select column_name from duckdb_columns() where schema_name = ? "
            "and table_name = 'measure_breakdown' order by column_index",
            [schema],
        )
    ]
    assert columns[-2:] == ["measure_title", "service_name"]
    assert columns[:3] == ["service_code", "extract_date", "measure_id"]
    titles = dict(
        query(f"select distinct measure_id, measure_title from {schema}.measure_breakdown")
    )
    assert titles["gender"] == "Gender"
    assert titles["age_band"] == "Client age band"
    assert None not in titles.values()
    (manifest_name,) = query("select service_name from marts.service_summary")[0]
    names = query(f"select distinct service_code, service_name from {schema}.measure_breakdown")
    assert names == [("KC", manifest_name)] and manifest_name


LATEST = {
    "measure_breakdown": "service_code, measure_id, category",
    "service_summary": "service_code",
    "data_capture": "service_code, field",
}


@pytest.mark.parametrize("schema", ["marts", "published"])
def test_latest_views_hold_each_services_latest_extract(sample_warehouse, tmp_path, schema):
    """latest_<table>: the rows of each service's latest extract. On a copy of the sample's
    warehouse given an earlier month of KC and an older extract of a second service, each
    view keeps KC's August rows only and the second service's one extract."""
    copy = copy_warehouse(sample_warehouse, tmp_path)
    with connect(copy, read_only=False) as con:
        for table in LATEST:
            full = f"{schema}.{table}"
            sample_rows = con.execute(f"select count(*) from {full}").fetchone()[0]
            con.execute(
                f"insert into {full} select * replace (extract_date - 31 as extract_date) "
                f"from {full}"
            )
            con.execute(
                f"insert into {full} select * replace "
                "('ZZ' as service_code, extract_date - 365 as extract_date) "
                f"from {full} where extract_date = date '2010-08-31'"
            )
            latest = con.execute(
                f"select service_code, extract_date, count(*) from {schema}.latest_{table} "
                "group by all order by all"
            ).fetchall()
            assert latest == [
                ("KC", datetime.date(2010, 8, 31), sample_rows),
                ("ZZ", datetime.date(2009, 8, 31), sample_rows),
            ], full
            duplicates = con.execute(
                f"select count(*) - count(distinct ({LATEST[table]})) from {schema}.latest_{table}"
            ).fetchone()[0]
            assert duplicates == 0
