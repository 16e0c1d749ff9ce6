"""Boundary rules of measures.md and format rules of the export contract, end to end:
a small purpose-built export through the real pipeline, then each unit's category."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLE_EXPORT, connect, run_dcrs
from exports import client, read_rows, write_export, write_rows

CLIENTS = [
    # line numbers are physical lines: a quoted field holding a line break (lines 2-3)
    # moves the next record to line 4
    client(
        "MULTILINE-OTHER",
        referral_source="Other",
        referral_source_other="Walk-in\nfrom the library",
    ),
    client("LINE-AFTER-BREAK", gender="Femail"),
    # age in whole years on the registration date
    client("AGE-26TH-BIRTHDAY", registration_date="05/03/2010", date_of_birth="05/03/1984"),
    client("AGE-DAY-BEFORE-26", registration_date="05/03/2010", date_of_birth="06/03/1984"),
    client("AGE-66TH-BIRTHDAY", registration_date="10/06/2010", date_of_birth="10/06/1944"),
    client("AGE-17", registration_date="10/06/2010", date_of_birth="11/06/1992"),
    client("AGE-DECLINED", date_of_birth="declined"),
    client("AGE-BLANK", date_of_birth=""),
    # BMI bands hold their lower bound, not their upper
    client("BMI-25-0", bmi="25.0"),
    client("BMI-24-99", bmi="24.99"),
    client("BMI-40", bmi="40"),
    client("BMI-12", bmi="12"),
    client("BMI-11-9", bmi="11.9"),
    client("BMI-90-1", bmi="90.1"),
    client("BMI-NOT-ELIGIBLE", eligible="No", bmi="31", initial_assessment_date=""),
    # label variants: case, runs of spaces, en-dash, curly apostrophe
    client("LABEL-CURLY", ward="Earl\u2019s Court", gender="  FEMALE "),
    client("LABEL-STRAIGHT", ward="earl's  court", ethnicity="white \u2013 british"),
    client("LABEL-DASH", ethnicity="Black or Black British \u2014 African"),
    # D/M/YYYY dates without leading zeros
    client("DATE-SHORT", registration_date="5/4/2010", initial_assessment_date="6/4/2010"),
]

GOALS = [
    {
        "goal_id": "G1",
        "client_id": "LABEL-CURLY",
        "goal_set_date": "16/03/2010",
        "goal": "Diet \u2013 Increase - Fruit/veg intake",
        "outcome": "achieved",
        "outcome_date": "1/5/2010",
    },
    {
        "goal_id": "G2",
        "client_id": "LABEL-CURLY",
        "goal_set_date": "16/03/2010",
        "goal": "EXERCISE - increase \u2014 moderate",
        "outcome": "",
        "outcome_date": "",
    },
]


def score_pair(client_id: str, instrument: str, baseline: str, follow_up: str) -> list[dict]:
    return [
        {
            "client_id": client_id,
            "instrument": instrument,
            "stage": "baseline",
            "score": baseline,
            "recorded_date": "16/03/2010",
        },
        {
            "client_id": client_id,
            "instrument": instrument,
            "stage": "follow_up",
            "score": follow_up,
            "recorded_date": "01/06/2010",
        },
    ]


SCORES = [
    # general health, steps of 10: +15 -> 20, -5 -> -10, +25 -> 30, +70 -> "70 % to 100 %"
    *score_pair("AGE-26TH-BIRTHDAY", "general_health", "40", "55"),
    *score_pair("AGE-DAY-BEFORE-26", "general_health", "50", "45"),
    *score_pair("AGE-66TH-BIRTHDAY", "general_health", "20", "45"),
    *score_pair("AGE-17", "general_health", "10", "80"),
    # self efficacy, steps of 5: +2.5 -> 5, -2.5 -> -5, -12 -> "-10 % to -80 %"
    *score_pair("AGE-26TH-BIRTHDAY", "self_efficacy", "50", "52.5"),
    *score_pair("AGE-DAY-BEFORE-26", "self_efficacy", "50", "47.5"),
    *score_pair("AGE-66TH-BIRTHDAY", "self_efficacy", "62", "50"),
    # WHO-5 raw totals x 4, steps of 5: raw +1 = 4% -> 5; raw +3 = 12% -> 10;
    # raw +11 = 44% -> 45 ("45 % or more"); raw -3 = -12% -> -10
    *score_pair("AGE-26TH-BIRTHDAY", "who5", "10", "11"),
    *score_pair("AGE-DAY-BEFORE-26", "who5", "10", "13"),
    *score_pair("AGE-66TH-BIRTHDAY", "who5", "5", "16"),
    *score_pair("AGE-17", "who5", "15", "12"),
    # a score outside its scale: the change is Invalid
    *score_pair("BMI-25-0", "who5", "10", "26"),
    # a baseline without a follow-up is outside the population
    score_pair("BMI-40", "who5", "10", "12")[0],
]

EXPECTED = {
    ("age_band", "AGE-26TH-BIRTHDAY"): "26 - 35",
    ("age_band", "AGE-DAY-BEFORE-26"): "18 - 25",
    ("age_band", "AGE-66TH-BIRTHDAY"): "Over 65",
    ("age_band", "AGE-17"): "< 18",
    ("age_band", "AGE-DECLINED"): "Declined",
    ("age_band", "AGE-BLANK"): "Not recorded",
    ("bmi_band", "BMI-25-0"): "25 - 30",
    ("bmi_band", "BMI-24-99"): "20 - 25",
    ("bmi_band", "BMI-40"): "Over 40",
    ("bmi_band", "BMI-12"): "< 20",
    ("bmi_band", "BMI-11-9"): "Invalid",
    ("bmi_band", "BMI-90-1"): "Invalid",
    ("bmi_band", "BMI-NOT-ELIGIBLE"): None,
    ("ward", "LABEL-CURLY"): "Earl's Court",
    ("ward", "LABEL-STRAIGHT"): "Earl's Court",
    ("gender", "LABEL-CURLY"): "Female",
    ("ethnicity", "LABEL-STRAIGHT"): "White - British",
    ("ethnicity", "LABEL-DASH"): "Black or Black British - African",
    ("month_first_seen", "DATE-SHORT"): "April 2010",
    ("goal", "G1"): "Diet - Increase - Fruit/veg intake",
    ("goal", "G2"): "Exercise - Increase - Moderate",
    ("goal_type", "G2"): "Exercise",
    ("goal_outcome", "G1"): "Achieved",
    ("goal_outcome", "G2"): "No outcome yet",
    ("general_health_change", "AGE-26TH-BIRTHDAY"): "20 %",
    ("general_health_change", "AGE-DAY-BEFORE-26"): "-10 %",
    ("general_health_change", "AGE-66TH-BIRTHDAY"): "30 %",
    ("general_health_change", "AGE-17"): "70 % to 100 %",
    ("self_efficacy_change", "AGE-26TH-BIRTHDAY"): "5 %",
    ("self_efficacy_change", "AGE-DAY-BEFORE-26"): "-5 %",
    ("self_efficacy_change", "AGE-66TH-BIRTHDAY"): "-10 % to -80 %",
    ("who5_change", "AGE-26TH-BIRTHDAY"): "5 %",
    ("who5_change", "AGE-DAY-BEFORE-26"): "10 %",
    ("who5_change", "AGE-66TH-BIRTHDAY"): "45 % or more",
    ("who5_change", "AGE-17"): "-10 %",
    ("who5_change", "BMI-25-0"): "Invalid",
    ("who5_change", "BMI-40"): None,
}


@pytest.fixture(scope="module")
def boundary_warehouse(tmp_path_factory) -> Path:
    export = write_export(tmp_path_factory.mktemp("boundaries") / "export", CLIENTS, GOALS, SCORES)
    warehouse = export.parent / "dcrs.duckdb"
    result = run_dcrs(export, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    return warehouse


@pytest.fixture(scope="module")
def categories(boundary_warehouse) -> dict[tuple[str, str], str]:
    with connect(boundary_warehouse) as con:
        rows = con.execute(
            "select measure_id, unit_id, category from intermediate.int_measure_members_categorised"
        ).fetchall()
    return {(measure_id, unit_id): category for measure_id, unit_id, category in rows}


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda key: f"{key[0]}:{key[1]}")
def test_unit_lands_in_its_category(categories, key):
    assert categories.get(key) == EXPECTED[key]


def test_the_same_ward_spelt_two_ways_is_one_target_ward(boundary_warehouse):
    with connect(boundary_warehouse) as con:
        rows = con.execute(
            "select category, n, is_target_ward from marts.ward where n > 0 order by category"
        ).fetchall()
    assert ("Earl's Court", 2, True) in rows


def test_windows_1252_export_gives_the_same_marts(tmp_path, sample_warehouse):
    """The sample saved again by a spreadsheet: Windows-1252, en-dashes as byte 0x96."""
    export = tmp_path / "export"
    shutil.copytree(SAMPLE_EXPORT, export)
    goals = read_rows(export, "goals.csv")
    assert any("\u2013" in goal["goal"] for goal in goals), "sample should hold en-dashes"
    for file_name in ("clients.csv", "goals.csv", "wellbeing_scores.csv", "health_trainers.csv"):
        write_rows(export, file_name, read_rows(export, file_name), encoding="cp1252")
    assert b"\x96" in (export / "goals.csv").read_bytes()
    warehouse = tmp_path / "cp1252.duckdb"
    result = run_dcrs(export, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"goals\.csv +read +256 .*\(windows-1252\)", result.stdout), result.stdout
    query = (
        "select measure_id, category, n, denominator, percent from marts.measure_breakdown "
        "order by all"
    )
    with connect(warehouse) as con:
        transcoded = con.execute(query).fetchall()
    with connect(sample_warehouse) as con:
        original = con.execute(query).fetchall()
    assert transcoded == original


def test_utf8_with_byte_order_mark_and_reordered_extra_columns(tmp_path, sample_warehouse):
    export = tmp_path / "export"
    shutil.copytree(SAMPLE_EXPORT, export)
    # upper-case names, reversed order, one extra column, and a byte-order mark
    clients = read_rows(export, "clients.csv")
    rows = [{key.upper(): value for key, value in row.items()} | {"Notes": "x"} for row in clients]
    columns = [name.upper() for name in reversed(list(clients[0]))] + ["Notes"]
    write_rows(export, "clients.csv", rows, columns=columns, encoding="utf-8-sig")
    warehouse = tmp_path / "bom.duckdb"
    result = run_dcrs(export, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "clients.csv: extra columns ignored: notes" in result.stdout
    assert re.search(r"clients\.csv +read +116 .*\(utf-8\)", result.stdout), result.stdout
    query = "select measure_id, category, n from marts.measure_breakdown order by all"
    with connect(warehouse) as con:
        reordered = con.execute(query).fetchall()
    with connect(sample_warehouse) as con:
        assert reordered == con.execute(query).fetchall()


def test_a_row_after_a_quoted_line_break_is_listed_at_its_own_line(boundary_warehouse):
    """audit.load_issues names the physical line where the record starts: line 4, after
    a record taking lines 2 and 3 (the line count once assumed one line per record)."""
    with connect(boundary_warehouse) as con:
        issues = con.execute(
            "select line, column_name, reason from audit.load_issues "
            "where file_name = 'clients.csv' and column_name = 'gender'"
        ).fetchall()
        other = con.execute(
            "select source_line, referral_source_other from raw.clients "
            "where client_id = 'MULTILINE-OTHER'"
        ).fetchall()
    assert issues == [(4, "gender", "not in the gender code list")]
    assert other == [(2, "Walk-in\nfrom the library")]


def test_goals_and_scores_with_a_header_only_publish(export_copy, tmp_path):
    """The contract lets goals.csv and wellbeing_scores.csv hold a header only: such an
    export loads, builds and publishes (the real `dcrs run`)."""
    write_rows(export_copy, "goals.csv", [])
    write_rows(export_copy, "wellbeing_scores.csv", [])
    warehouse = tmp_path / "header-only" / "dcrs.duckdb"
    result = run_dcrs(export_copy, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"goals\.csv +read +0 .*\(utf-8\)", result.stdout), result.stdout
    assert re.search(r"wellbeing_scores\.csv +read +0 .*\(utf-8\)", result.stdout)
    with connect(warehouse) as con:
        published = con.execute(
            "select count(*) from published.measure_breakdown where extract_date = '2010-08-31'"
        ).fetchone()[0]
    assert published > 0
