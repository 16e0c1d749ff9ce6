"""The command line's edges: dates in either form people write them, flags shown as flags,
a report that will not guess the service, help that reads well at 80 columns."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import pytest
import typer
from conftest import DCRS, ROOT, connect, copy_warehouse

from dcrs.cli import parse_date

COMMANDS = ("run", "run-inbox", "rebuild", "report", "check-freshness", "generate")


def dcrs(*arguments: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DCRS_")}
    return subprocess.run(
        [str(DCRS), *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment | {"COLUMNS": str(columns)},
        check=False,
    )


@pytest.mark.fast
@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("2010-08-31", dt.date(2010, 8, 31)),
        ("31/08/2010", dt.date(2010, 8, 31)),
        ("1/9/2010", dt.date(2010, 9, 1)),
        (" 01/09/2010 ", dt.date(2010, 9, 1)),
    ],
)
def test_a_date_is_read_in_the_iso_and_the_uk_form(given, meant):
    assert parse_date(given) == meant


@pytest.mark.fast
@pytest.mark.parametrize(
    "given",
    ["08/31/2010", "31/08/2010x", "2010/08/31", "31-08-2010", "31/02/2010", "2010-8-31", "Aug"],
)
def test_anything_else_is_refused_naming_both_forms(given):
    with pytest.raises(typer.BadParameter, match=r"give YYYY-MM-DD or D/M/YYYY"):
        parse_date(given)


@pytest.mark.fast
@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_reads_well_at_80_columns(command):
    """No line longer than the terminal, no word broken at a hyphen, each paragraph
    reflowed (no short line followed by one that continues its sentence), and flags
    shown as flags (typer's rich help labelled every flag <bool>)."""
    result = dcrs(*([command] if command else []), "--help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if len(line) > 80] == []
    assert [line for line in lines if re.search(r"[A-Za-z]-$", line)] == []
    assert "<bool>" not in result.stdout
    assert "╭" not in result.stdout  # plain text, reflowed to the width
    for line, after in zip(lines, lines[1:], strict=False):
        # a ragged break: a line ending well short of the width, the next line going on
        # with the same sentence in lower case at the same indent
        indent = len(line) - len(line.lstrip())
        if line.strip() and after.strip() and len(after) - len(after.lstrip()) == indent:
            assert not (len(line) < 60 and after.lstrip()[0].islower()), (line, after)


@pytest.mark.fast
def test_report_help_shows_published_as_a_flag_and_the_date_forms():
    result = dcrs("report", "--help")
    assert re.search(r"^  --published\s{2,}Report", result.stdout, re.MULTILINE), result.stdout
    assert "YYYY-MM-DD or D/M/YYYY" in result.stdout


def test_report_takes_the_uk_date_form(sample_warehouse, tmp_path):
    for given in ("31/08/2010", "2010-08-31"):
        out = tmp_path / f"{given.replace('/', '-')}.html"
        result = dcrs(
            "report",
            "--warehouse",
            str(sample_warehouse),
            "--out",
            str(out),
            "--extract-date",
            given,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert out.is_file()


def test_a_bad_date_is_a_usage_error_without_a_traceback(sample_warehouse, tmp_path):
    result = dcrs(
        "report",
        "--warehouse",
        str(sample_warehouse),
        "--out",
        str(tmp_path / "r.html"),
        "--extract-date",
        "31.08.2010",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert "'--extract-date'" in error
    assert "YYYY-MM-DD or D/M/YYYY" in error
    assert len(result.stderr.splitlines()) <= 4
    assert not (tmp_path / "r.html").exists()


@pytest.fixture
def two_services(sample_warehouse: Path, tmp_path: Path) -> Path:
    """A copy of the sample's warehouse whose report models hold a second service (ZZ, the
    sample's figures under another code): what a warehouse of two services offers the
    report."""
    warehouse = copy_warehouse(sample_warehouse, tmp_path)
    with connect(warehouse, read_only=False) as con:
        con.execute("alter view marts.report_extracts rename to report_extracts_kc")
        con.execute(
            "create view marts.report_extracts as "
            "select * from marts.report_extracts_kc union all "
            "select * replace ('ZZ' as service_code) from marts.report_extracts_kc"
        )
    return warehouse


def test_report_of_two_services_asks_which_one(two_services, tmp_path):
    out = tmp_path / "r.html"
    result = dcrs("report", "--warehouse", str(two_services), "--out", str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "Cannot write the report: the warehouse holds 2 services (KC, ZZ): name one with --service."
    ]
    assert not out.exists()
    chosen = dcrs("report", "--warehouse", str(two_services), "--out", str(out), "--service", "KC")
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert out.exists()


@pytest.mark.fast
def test_report_of_a_missing_warehouse_is_a_usage_error(tmp_path):
    missing = tmp_path / "nowhere" / "dcrs.duckdb"
    result = dcrs("report", "--warehouse", str(missing))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [f"Cannot write the report: no warehouse at {missing}"]
    assert not missing.parent.exists()


def test_report_of_a_service_the_warehouse_lacks_is_a_usage_error(two_services, tmp_path):
    out = tmp_path / "r.html"
    result = dcrs("report", "--warehouse", str(two_services), "--out", str(out), "--service", "XX")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "has no figures for service XX" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
