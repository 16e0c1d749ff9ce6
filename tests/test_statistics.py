"""The Wilson interval and benchmark comparison macros, compiled by dbt and run in DuckDB.
z is the 95% level's, from seeds/confidence_levels.csv (the macros take it as a column)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from conftest import SHARED, run_dbt

pytestmark = pytest.mark.fast

REFERENCE = SHARED / "reference" / "wilson-phe-indicator-methods.csv"
CONFIDENCE_LEVELS = Path(__file__).resolve().parents[1] / "seeds" / "confidence_levels.csv"


def z_95() -> float:
    with CONFIDENCE_LEVELS.open() as handle:
        levels = {row["confidence_level_id"]: row for row in csv.DictReader(handle)}
    return float(levels["ci_95"]["two_sided_z"])


def compile_sql(sql: str, tmp_path: Path) -> str:
    """Compile an inline query with the project's macros, as dbt does for the models."""
    result = run_dbt(tmp_path / "compile.duckdb", tmp_path, "compile", "--quiet", "--inline", sql)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def interval_sql(tmp_path_factory) -> str:
    return compile_sql(
        "select numerator, denominator, "
        "{{ wilson_lower('numerator', 'denominator', 'z') }} as ci_lower, "
        "{{ wilson_upper('numerator', 'denominator', 'z') }} as ci_upper, "
        "{{ compare_with_benchmark(wilson_lower('numerator', 'denominator', 'z'), "
        "wilson_upper('numerator', 'denominator', 'z'), 'benchmark') }} as comparison "
        "from cases",
        tmp_path_factory.mktemp("compile"),
    )


def evaluate(interval_sql: str, cases: list[tuple]) -> list[tuple]:
    with duckdb.connect() as con:
        con.execute(
            "create table cases (numerator bigint, denominator bigint, benchmark double, "
            f"z double default {z_95()!r})"
        )
        con.executemany(
            "insert into cases (numerator, denominator, benchmark) values (?, ?, ?)", cases
        )
        return con.execute(interval_sql).fetchall()


def reference_rows() -> list[dict]:
    with REFERENCE.open() as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def test_reference_file_is_present():
    assert len(reference_rows()) >= 8


@pytest.mark.parametrize(
    "row", reference_rows(), ids=lambda row: f"{row['numerator']}/{row['denominator']}"
)
def test_wilson_matches_phe_indicator_methods(interval_sql, row):
    ((_, _, lower, upper, _),) = evaluate(
        interval_sql, [(int(row["numerator"]), int(row["denominator"]), None)]
    )
    assert lower == pytest.approx(float(row["lower_95"]), rel=1e-6)
    assert upper == pytest.approx(float(row["upper_95"]), rel=1e-6)


def test_wilson_edge_cases(interval_sql):
    (none, all_, empty) = evaluate(interval_sql, [(0, 10, None), (10, 10, None), (0, 0, None)])
    assert none[2] == 0.0
    assert none[3] == pytest.approx(27.753279, rel=1e-6)
    assert all_[2] == pytest.approx(72.246721, rel=1e-6)
    assert all_[3] == 100.0
    assert empty[2] is None and empty[3] is None


def test_comparison_on_both_sides_of_a_benchmark(interval_sql):
    # 20/100: interval 13.34 to 28.88
    results = evaluate(
        interval_sql,
        [(20, 100, 13.0), (20, 100, 13.4), (20, 100, 28.8), (20, 100, 29.0), (20, 100, None)],
    )
    assert [row[4] for row in results] == ["higher", "similar", "similar", "lower", None]


@pytest.mark.parametrize("size", [3, 7, 115, 999, 123457])
def test_interval_ends_are_exact_at_none_and_all(interval_sql, size):
    """0 of n has a lower limit of exactly 0 and n of n an upper limit of exactly 100:
    floating point alone gives 99.99999999999999 for many n, below the percent."""
    (none, all_) = evaluate(interval_sql, [(0, size, None), (size, size, None)])
    assert none[2] == 0.0
    assert all_[3] == 100.0
