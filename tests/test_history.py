"""Every extract kept in one warehouse (issue 5): a sequence of monthly exports of two
services, loaded one run at a time into one warehouse, interleaved.

- each extract's figures equal those of a run on that export alone;
- loading the same export again changes nothing;
- the changes between extracts (marts.record_changes, marts.field_changes) and the
  record versions (history.record_versions) agree with the CSV files themselves, compared
  here with DuckDB straight from the files;
- an export older than the latest loaded for its service is refused, and nothing changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from conftest import DCRS, ROOT, connect, copy_warehouse, outputs_of, run_dcrs

from dcrs.generate import generate

# Tables whose rows for one extract depend only on that extract's export. The change marts
# and the history compare with the extract loaded before, the run log has one row per
# run, and the report views of the data-capture trend show every extract up to theirs:
# they are checked on their own below (the report views in test_report_html.py). The
# disclosure rule's view has one row, for no extract.
HISTORY_DEPENDENT = {
    ("marts", "record_changes"),
    ("marts", "field_changes"),
    # outcomes seen across the history; gaps widening since the previous extract
    ("marts", "monthly_outcomes_seen"),
    ("marts", "report_attention"),
    ("published", "report_attention"),
    ("history", "record_versions"),
    ("history", "loaded_extracts"),
    ("audit", "data_quality_runs"),
    *(
        (schema, view)
        for schema in ("marts", "published")
        for view in ("report_extracts", "report_data_capture", "report_capture_trend")
    ),
    ("published", "report_disclosure_rule"),
    # each service's latest extract only: an earlier extract is absent once a later one loads
    *(
        (schema, f"latest_{table}")
        for schema in ("marts", "published")
        for table in ("measure_breakdown", "service_summary", "data_capture")
    ),
    # across services by design: each service's latest extract against the pooled figure
    # of every service the warehouse holds
    ("marts", "funnel_services"),
    ("marts", "report_funnel_services"),
    ("marts", "report_funnel_service_limits"),
    # the indices of the extract being built only, replaced by each run
    # (published.inequality_indices keeps every extract's)
    ("audit", "published_inequality_index_figures"),
}
SCHEMAS = ("marts", "published", "audit", "history")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    folders = generate(tmp_path_factory.mktemp("exports"), clients=600, services=2, months=3)
    return {(folder.parent.name, folder.name): folder for folder in folders}


def tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """The tables that hold a partition per service and extract."""
    return con.execute(
        "select table_schema, table_name from information_schema.columns "
        f"where table_schema in {SCHEMAS} and column_name = 'extract_date' order by all"
    ).fetchall()


def partition(path: Path, service: str, extract: str) -> dict[tuple[str, str], list[tuple]]:
    """Every row of every per-extract table for one service and extract, sorted."""
    with connect(path) as con:
        found = {}
        for schema, table in tables(con):
            if (schema, table) in HISTORY_DEPENDENT:
                continue
            rows = con.execute(
                f"select * from {schema}.{table} "
                "where service_code = ? and extract_date = ?::date order by all",
                [service, extract],
            ).fetchall()
            found[(schema, table)] = rows
    return found


def snapshot(path: Path) -> dict[tuple[str, str], str]:
    """A digest of every row of every table of the marts, published, audit and history
    schemas."""
    with connect(path) as con:
        return {
            (schema, table): hashlib.sha256(
                repr(
                    con.execute(f"select * from {schema}.{table} order by all").fetchall()
                ).encode()
            ).hexdigest()
            for schema, table in tables(con)
        }


LOAD_ORDER = [
    ("S001", "2010-03-31"),
    ("S002", "2010-03-31"),
    ("S001", "2010-04-30"),
    ("S002", "2010-04-30"),
    ("S001", "2010-05-31"),
]


def run_inbox(inbox: Path, warehouse: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DCRS), "run-inbox", "--inbox", str(inbox), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture(scope="module")
def history_run(exports, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The exports of LOAD_ORDER loaded by `dcrs run-inbox` from an inbox whose folder
    names sort the other way round from their extract dates."""
    work = tmp_path_factory.mktemp("history")
    inbox = work / "inbox"
    for number, key in enumerate(reversed(LOAD_ORDER)):
        shutil.copytree(exports[key], inbox / f"{number:02d}-{key[0]}-{key[1]}")
    warehouse = work / "dcrs.duckdb"
    result = run_inbox(inbox, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    return {"inbox": inbox, "warehouse": warehouse, "output": result.stdout}


@pytest.fixture(scope="module")
def history_warehouse(history_run) -> Path:
    return history_run["warehouse"]


def test_every_extract_of_both_services_is_kept(history_warehouse):
    with connect(history_warehouse) as con:
        for table in ("service_summary", "measure_breakdown", "data_capture", "ward"):
            loaded = con.execute(
                f"select distinct service_code, extract_date::varchar from marts.{table} "
                "order by all"
            ).fetchall()
            assert loaded == sorted(LOAD_ORDER), table
        previous = con.execute(
            "select service_code, extract_date::varchar, previous_extract_date::varchar "
            "from history.loaded_extracts order by all"
        ).fetchall()
    assert previous == [
        ("S001", "2010-03-31", None),
        ("S001", "2010-04-30", "2010-03-31"),
        ("S001", "2010-05-31", "2010-04-30"),
        ("S002", "2010-03-31", None),
        ("S002", "2010-04-30", "2010-03-31"),
    ]


@pytest.mark.parametrize("key", [("S001", "2010-04-30"), ("S002", "2010-03-31")])
def test_each_extract_equals_a_run_on_that_export_alone(history_warehouse, exports, tmp_path, key):
    alone = tmp_path / "alone.duckdb"
    result = run_dcrs(exports[key], alone)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = partition(history_warehouse, *key)
    expected = partition(alone, *key)
    assert kept.keys() == expected.keys()
    assert ("marts", "measure_breakdown") in kept and ("published", "measure_breakdown") in kept
    for table, rows in expected.items():
        # the generated exports are valid: no load issues; every other table has rows
        # (complementary suppressions only where a suppressed count needs one:
        # docs/disclosure.md)
        no_issues = {
            ("audit", "load_issues"),
            ("audit", "load_issue_values"),
            ("audit", "published_complementary_suppressions"),
        }
        assert rows or table in no_issues, f"{table} has no rows for {key}"
        assert kept[table] == rows, f"{table} differs for {key}"


def test_loading_the_same_export_again_changes_nothing(history_warehouse, exports, tmp_path):
    warehouse = copy_warehouse(history_warehouse, tmp_path / "dcrs.duckdb")
    before = snapshot(warehouse)
    result = run_dcrs(exports[LOAD_ORDER[-1]], warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    after = snapshot(warehouse)
    assert after.keys() == before.keys()
    changed = {table for table in before if before[table] != after[table]}
    # only the run log grows: one more run's check results
    assert changed == {("audit", "data_quality_runs")}
    with connect(warehouse) as con:
        runs = con.execute("select count(distinct run_id) from audit.data_quality_runs").fetchone()
        # the run log holds each run's results as the mart holds its extract's
        last_run = con.execute(
            """
            select * exclude (run_id, run_at) from audit.data_quality_runs
            where run_at = (select max(run_at) from audit.data_quality_runs)
            """
        ).fetchall()
        service_code, extract_date = LOAD_ORDER[-1]
        results = con.execute(
            "select * from marts.data_quality_results "
            "where service_code = ? and extract_date = ?::date",
            [service_code, extract_date],
        ).fetchall()
    assert runs == (len(LOAD_ORDER) + 1,)
    assert len(results) > 50
    assert sorted(last_run, key=str) == sorted(results, key=str)


def test_an_older_export_is_refused_and_nothing_changes(history_warehouse, exports, tmp_path):
    warehouse = tmp_path / "dcrs.duckdb"
    warehouse.write_bytes(history_warehouse.read_bytes())
    digest = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    result = run_dcrs(exports[("S001", "2010-04-30")], warehouse)
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stdout + result.stderr
    assert "manifest.json" in message
    assert "2010-04-30 is older than 2010-05-31" in message
    assert "service S001" in message
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == digest


def csv_changes(earlier: Path, later: Path) -> dict[str, int]:
    """What changed between two exports, computed from the CSV files alone."""
    with duckdb.connect() as con:

        def read(folder: Path, name: str) -> str:
            return f"read_csv('{folder / name}', all_varchar = true, header = true)"

        return dict(
            con.execute(
                f"""
                with
                old_clients as (select * from {read(earlier, "clients.csv")}),
                new_clients as (select * from {read(later, "clients.csv")}),
                old_goals as (select * from {read(earlier, "goals.csv")}),
                new_goals as (select * from {read(later, "goals.csv")})
                select 'clients added', count(*) from new_clients
                where client_id not in (select client_id from old_clients)
                union all
                select 'clients removed', count(*) from old_clients
                where client_id not in (select client_id from new_clients)
                union all
                select 'ethnicity', count(*) from new_clients
                join old_clients using (client_id)
                where new_clients.ethnicity is distinct from old_clients.ethnicity
                union all
                select 'disability', count(*) from new_clients
                join old_clients using (client_id)
                where new_clients.disability is distinct from old_clients.disability
                union all
                select 'goals added', count(*) from new_goals
                where goal_id not in (select goal_id from old_goals)
                union all
                select 'outcome', count(*) from new_goals
                join old_goals using (goal_id)
                where new_goals.outcome is distinct from old_goals.outcome
                """
            ).fetchall()
        )


@pytest.mark.parametrize(
    ("service", "earlier", "later"),
    [("S001", "2010-03-31", "2010-04-30"), ("S001", "2010-04-30", "2010-05-31")],
)
def test_changes_between_extracts_match_the_files(
    history_warehouse, exports, service, earlier, later
):
    expected = csv_changes(exports[(service, earlier)], exports[(service, later)])
    # the generator corrects some records every month: the comparison is not vacuous
    assert expected["outcome"] > 0 and expected["ethnicity"] + expected["disability"] > 0
    with connect(history_warehouse) as con:
        records = dict(
            con.execute(
                "select entity || ' ' || change_type, records from marts.record_changes "
                "where service_code = ? and extract_date = ?::date "
                "and previous_extract_date = ?::date",
                [service, later, earlier],
            ).fetchall()
        )
        fields = dict(
            con.execute(
                "select field, records_changed from marts.field_changes "
                "where service_code = ? and extract_date = ?::date and entity in ('client', "
                "'goal') and field in ('ethnicity', 'disability', 'outcome')",
                [service, later],
            ).fetchall()
        )
        clients_now = con.execute(
            "select clients_registered from marts.service_summary "
            "where service_code = ? and extract_date = ?::date",
            [service, later],
        ).fetchone()[0]
    assert records["client added"] == expected["clients added"]
    assert records["client removed"] == expected["clients removed"] == 0
    assert records["goal added"] == expected["goals added"]
    assert fields == {
        "ethnicity": expected["ethnicity"],
        "disability": expected["disability"],
        "outcome": expected["outcome"],
    }
    assert (
        records["client added"] + records["client changed"] + records["client unchanged"]
        == clients_now
    )


def test_record_versions_give_back_each_extract(history_warehouse, exports):
    """The state of every goal at an earlier extract, rebuilt from history.record_versions,
    is what that extract's goals.csv said, although later extracts changed outcomes."""
    with connect(history_warehouse) as con:
        for extract in ("2010-03-31", "2010-04-30", "2010-05-31"):
            goals = exports[("S001", extract)] / "goals.csv"
            difference = con.execute(
                f"""
                with
                state as (
                    select
                        record_key as goal_id,
                        field_values[list_position(field_names, 'outcome')] as outcome,
                        change_type
                    from history.record_versions
                    where
                        service_code = 'S001' and entity = 'goal'
                        and extract_date <= ?::date
                    qualify row_number() over (
                        partition by record_key order by extract_date desc
                    ) = 1
                ),
                files as (
                    select goal_id, nullif(trim(outcome), '') as outcome
                    from read_csv('{goals}', all_varchar = true, header = true)
                ),
                kept as (select goal_id, outcome from state where change_type <> 'removed')
                (select * from kept except select * from files)
                union all
                (select * from files except select * from kept)
                """,
                [extract],
            ).fetchall()
            assert difference == [], extract
        versions = con.execute(
            "select count(*) from history.record_versions "
            "where service_code = 'S001' and entity = 'goal' and change_type = 'changed'"
        ).fetchone()[0]
    assert versions > 0


def test_run_inbox_loads_new_exports_oldest_first_then_nothing(history_run, tmp_path):
    """`dcrs run-inbox` (which loaded the history): the folders' names sort the other way
    round from their extract dates; the exports still loaded in date order, and a second
    call finds nothing new and changes nothing."""
    output = history_run["output"]
    assert f"{len(LOAD_ORDER)} new export(s) to load" in output
    folders = [f"{number:02d}-{key[0]}-{key[1]}" for number, key in enumerate(reversed(LOAD_ORDER))]
    positions = [output.index(f"Export {history_run['inbox'] / folder}\n") for folder in folders]
    assert positions == sorted(positions, reverse=True)  # oldest (last named) first
    warehouse = tmp_path / "dcrs.duckdb"
    copy_warehouse(history_run["warehouse"], warehouse)
    digest = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    second = run_inbox(history_run["inbox"], warehouse)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No new export" in second.stdout
    assert second.stdout.count("Already in the warehouse, skipped") == len(LOAD_ORDER)
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == digest


def test_data_docs_keep_every_run_named_by_service_and_extract(history_warehouse):
    """The published Data Docs after the five runs list every run, not only the last:
    each run's validation results (kept as JSON in data_docs/results/, carried from one
    release to the next) and its pages, under a run named by service and extract."""
    docs = outputs_of(history_warehouse) / "data_docs"
    names = [f"{service}-{extract}" for service, extract in LOAD_ORDER]
    kept = {path.parts[-3] for path in (docs / "results").rglob("*.json")}
    pages = {path.parts[-3] for path in (docs / "validations").rglob("*.html")}
    assert kept == pages == set(names)
    # every suite of every run: the first run's pages survived four releases
    suites = {path.parent.parent.parent for path in (docs / "validations").rglob("*.html")}
    for suite in suites:
        assert {path.name for path in suite.iterdir()} == set(names), suite
    index = (docs / "index.html").read_text(encoding="utf-8")
    for name in names:
        assert f"{name}/" in index, name


def test_no_temporary_table_is_left_in_the_warehouse(history_warehouse):
    """dbt-duckdb builds an incremental Python model's new rows into a table of its own
    (published_complementary_suppressions__dbt_tmp<time>, in main) and leaves it: the
    model's post-hook drops it, so five runs leave none."""
    with connect(history_warehouse) as con:
        leftovers = con.execute(
            "select schema_name, table_name from duckdb_tables() where table_name like '%dbt_tmp%'"
        ).fetchall()
    assert leftovers == []
