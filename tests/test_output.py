"""What a run prints (dcrs.console, dcrs.build): one line per step and the summary, under
30 lines, no warnings and no dbt lines on the terminal; dbt's whole output in the log file
beside the warehouse, its owner's only and without a row's values; on a failed build the
part of dbt's output that says what failed. The failed build itself is run in
tests/test_build.py; the Prefect task's log in tests/test_prefect_deployment.py."""

from __future__ import annotations

import csv
import io
import re
import stat
from pathlib import Path

import pytest
from conftest import SAMPLE_EXPORT
from rich.console import Console

from dcrs.build import FAILURE_LINES_SHOWN, failure_excerpt
from dcrs.console import StepDisplay

STEPS = (
    "load export",
    "dbt build",
    "write reports and Parquet files",
    "summarise",
    "release",
    "alert",
)
# a line of dbt's progress: "12:00:01  12 of 450 OK created sql table model ..."
DBT_NODE_LINE = re.compile(r"\b\d+ of \d+ [A-Z]")
WARNINGS = re.compile(r"warning|warn:|semaphore|resource_tracker|INFO:|Traceback", re.IGNORECASE)


def log_of(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".log")


def test_a_run_prints_one_line_per_step_then_the_summary(sample_output):
    lines = sample_output.splitlines()
    assert len(lines) < 30, sample_output
    step_lines = [line for line in lines if line.startswith("  ") and " s" in line]
    named = [step for step in STEPS for line in step_lines if line.split("  ")[1].strip() == step]
    assert named == list(STEPS), sample_output
    assert re.search(
        r"dbt build +\d+\.\d s +\((\d+) of \1 models, seeds and tests\)", sample_output
    )
    assert "Published " in sample_output
    assert "quality checks 59, failed 4" in sample_output
    # dbt's lines, their counters, warnings and control codes stay off the terminal
    assert not DBT_NODE_LINE.search(sample_output), sample_output
    assert not WARNINGS.search(sample_output), sample_output
    assert "\x1b" not in sample_output


def test_dbt_output_goes_to_the_log_file_beside_the_warehouse(sample_warehouse):
    log = log_of(sample_warehouse)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    text = log.read_text()
    assert "Completed successfully" in text
    assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0", text)
    assert len(DBT_NODE_LINE.findall(text)) > 400  # every node, START and end
    assert "\x1b[" not in text  # no colour codes
    assert not WARNINGS.search(text), [line for line in text.splitlines() if WARNINGS.search(line)]


def test_the_log_file_holds_no_date_of_birth_or_postcode(sample_warehouse):
    text = log_of(sample_warehouse).read_text()
    with (SAMPLE_EXPORT / "clients.csv").open(encoding="utf-8") as handle:
        clients = list(csv.DictReader(handle))
    values = {row[column] for row in clients for column in ("date_of_birth", "postcode")}
    values.discard("")
    assert values
    assert not [value for value in values if value in text]


@pytest.mark.fast
def test_a_failed_build_shows_the_failing_nodes_and_dbts_summary_of_the_failures():
    lines = [
        f"12:00:{number % 60:02d}  {number} of 450 PASS test_{number}" for number in range(1, 200)
    ]
    lines[99] = "12:00:39  100 of 450 FAIL 3 assert_injected_failure ....... [FAIL 3 in 0.02s]"
    lines += [
        "12:01:00  Finished running 450 nodes",
        "",
        "12:01:00  Completed with 1 error, 0 partial successes, and 0 warnings:",
        "",
        "12:01:00  Failure in test assert_injected_failure (tests/dbt/assert_injected_failure.sql)",
        "12:01:00    Got 3 results, configured to fail if != 0",
        "",
        "12:01:00  Done. PASS=448 WARN=0 ERROR=1 SKIP=1 NO-OP=0 TOTAL=450",
    ]
    excerpt = failure_excerpt(lines).splitlines()
    assert excerpt == [
        lines[99],
        "12:01:00  Completed with 1 error, 0 partial successes, and 0 warnings:",
        "12:01:00  Failure in test assert_injected_failure (tests/dbt/assert_injected_failure.sql)",
        "12:01:00    Got 3 results, configured to fail if != 0",
        "12:01:00  Done. PASS=448 WARN=0 ERROR=1 SKIP=1 NO-OP=0 TOTAL=450",
    ]


@pytest.mark.fast
def test_a_long_summary_of_failures_keeps_its_start_and_dbts_counts():
    lines = ["12:01:00  Completed with 2 errors, 0 partial successes, and 0 warnings:"]
    lines += ["12:01:00  Runtime Error in model quality_checks_evaluated: the first error"]
    lines += [f"    traceback line {number}" for number in range(100)]
    lines += ["12:01:00  Done. PASS=448 WARN=0 ERROR=2 SKIP=0 NO-OP=0 TOTAL=450"]
    excerpt = failure_excerpt(lines).splitlines()
    assert len(excerpt) == FAILURE_LINES_SHOWN
    assert excerpt[1] == lines[1]
    assert excerpt[-2:] == ["...", lines[-1]]


@pytest.mark.fast
def test_dbt_stopping_before_its_summary_shows_its_last_lines():
    lines = [f"line {number}" for number in range(100)] + ["Parsing Error", "  at line 3"]
    excerpt = failure_excerpt(lines).splitlines()
    assert len(excerpt) == FAILURE_LINES_SHOWN
    assert excerpt[-2:] == ["Parsing Error", "  at line 3"]


def display(terminal: bool, verbose: bool = False) -> tuple[StepDisplay, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=100, highlight=False)
    return StepDisplay(verbose, console=console), out


@pytest.mark.fast
def test_steps_print_plain_lines_when_output_is_not_a_terminal():
    steps, out = display(terminal=False)

    def build() -> str:
        steps.dbt_progress(1, 3)
        steps.dbt_progress(3, 3)
        return "built"

    assert steps("dbt build", build) == "built"
    with pytest.raises(ValueError):
        steps("release", lambda: int("x"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"  dbt build +\d+\.\d s  \(3 of 3 models, seeds and tests\)", lines[0])
    assert re.fullmatch(r"  release +failed after \d+\.\d s", lines[1])
    assert "\x1b" not in out.getvalue()
    assert steps.dbt_output is None  # dbt's lines only with --verbose


@pytest.mark.fast
def test_in_a_terminal_a_step_shows_a_spinner_then_its_line():
    steps, out = display(terminal=True)

    def build() -> None:
        steps.dbt_progress(2, 3)
        steps.echo("a message while the step runs")

    steps("dbt build", build)
    text = out.getvalue()
    assert "\x1b[" in text  # the live display (cursor moves), drawn only in a terminal
    assert "a message while the step runs" in text
    assert re.search(r"  dbt build +\d+\.\d s  \(2 of 3 models, seeds and tests\)\n$", text)


@pytest.mark.fast
def test_verbose_shows_dbts_lines():
    steps, out = display(terminal=False, verbose=True)
    assert steps.dbt_output is not None
    steps.dbt_output("12:00:01  1 of 450 OK created sql view model marts.age_band")
    assert out.getvalue() == "12:00:01  1 of 450 OK created sql view model marts.age_band\n"
