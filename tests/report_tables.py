"""Read the tables of section 7.1 out of the evaluation report's text.

The expected values of the reproduction tests come from here, straight from
shared/spec/evaluation-report-2010.txt, not from the sample generator or the seeds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The first cell of each table's header row, and the measure it reports.
TABLE_MEASURES = {
    "Age": "age_band",
    "Ethnicity": "ethnicity",
    "Disability": "disability",
    "How the Client Heard": "how_heard",
    "Referral Source": "referral_source",
    "Deprivation Quintiles": "deprivation_quintile",
    "Postcode": "postcode_district",
    "Ward Name": "ward",
    "When Clients Were Initially Seen": "month_first_seen",
    "Primary Issue": "primary_health_issue",
    "Body Mass Index": "bmi_band",
    "PHP Goal Count": "php_goal_count",
    "Goal Type": "goal_type",
    "Goal": "goal",
    "Personal Health Plan outcome": "goal_outcome",
    "Self Efficacy change": "self_efficacy_change",
    "General Health Change": "general_health_change",
    "WHO-5 Change": "who5_change",
    "Signpost To": "signposting",
}


@dataclass
class ReportRow:
    label: str
    count: int
    percent: float
    benchmark: float | None


@dataclass
class ReportTable:
    measure_id: str
    rows: list[ReportRow]
    total: int


def label_key(label: str) -> str:
    """The export contract's label matching: case, spaces, dashes, apostrophes."""
    label = label.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    return re.sub(r"\s+", " ", label).strip().lower()


def _percent(cell: str) -> float:
    return float(cell.rstrip("%"))


def _cell_groups(lines: list[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.startswith("\t"):
            current.append(line[1:].strip())
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def section_7_1(report: Path) -> list[str]:
    lines = report.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("7.1.1. Numbers"))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("7.2"))
    return lines[start:end]


def read_tables(report: Path) -> dict[str, ReportTable]:
    """Every measure table of section 7.1, keyed by measure_id."""
    tables: dict[str, ReportTable] = {}
    groups = iter(_cell_groups(section_7_1(report)))
    for group in groups:
        measure_id = TABLE_MEASURES.get(group[0])
        if measure_id is None or group[1:2] != ["Count"]:
            continue
        rows = []
        for row in groups:
            if row[0] == "":
                tables[measure_id] = ReportTable(measure_id, rows, int(row[1]))
                break
            benchmark = _percent(row[3]) if len(row) > 3 and row[3] else None
            rows.append(ReportRow(row[0], int(row[1]), _percent(row[2]), benchmark))
    return tables


def read_london_table(report: Path) -> dict[str, list[str]]:
    """The 7.1.18 London comparison: row title -> printed cells."""
    lines = section_7_1(report)
    start = next(i for i, line in enumerate(lines) if line.startswith("\tTotal Clients"))
    return {group[0]: group[1:] for group in _cell_groups(lines[start:]) if len(group) == 5}
