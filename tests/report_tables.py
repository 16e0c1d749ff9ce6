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


# The report's headline figures (sections 1, 7.1 and 8), each read from the sentence that
# states it: figure names -> (pattern, the pattern's groups in order). A figure the text
# does not state is not here; the tests say where they compute one instead.
HEADLINE_SENTENCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "clients": (
        r"(\d+) clients have been seen by the service since its launch in March 2010, "
        r"(\d+) women and (\d+) men",
        ("clients_registered", "women", "men"),
    ),
    "eligibility": (
        r"Of the \d+ clients registered with the service, (\d+) \(([\d.]+)%\) were eligible",
        ("eligible_clients", "eligible_percent"),
    ),
    "php": (
        r"Of the \d+ clients seen, (\d+) clients \(([\d.]+)%\) were set one or more",
        ("clients_with_php", "php_percent"),
    ),
    "goals": (r"In total, (\d+) PHP goals have been set", ("goals_set",)),
    "outcomes": (
        r"The results of the remaining (\d+) PHP goals where an outcome has been recorded",
        ("goals_with_outcome",),
    ),
    "months": (r"Kensington and\s+Chelsea\s*\n\((\d+) months\)", ("months_of_operation",)),
    "projection": (
        r"it will have seen (\d+) clients and conducted (\d+) PHPs in its first (\d+) months\. "
        r"This would give a favourable average number of clients seen per WTE of (\d+)",
        (
            "projected_clients_12_months",
            "projected_phps_12_months",
            "projection_months",
            "projected_clients_per_wte_12_months",
        ),
    ),
    "target": (
        r"target of registering (\d+) clients within the first year",
        ("year_one_client_target",),
    ),
    "target_per_wte": (
        r"is required to register (\d+) clients in the first year",
        ("target_clients_per_wte",),
    ),
    "target_ward_target": (
        r"with (\d+)% of these clients to be living in wards",
        ("target_ward_percent_target",),
    ),
    "target_wards": (
        r"A total of ([\d.]+)% \((\d+)/(\d+)\) clients come from these wards",
        ("target_ward_percent_of_all", "clients_in_target_wards", "clients_with_ward_recorded"),
    ),
    "deprived": (
        r"([\d.]+)% \((\d+)/\d+\) of clients come from the top 2 most deprived quintiles",
        ("most_deprived_two_quintiles_percent", "clients_in_two_most_deprived_quintiles"),
    ),
    "achieved": (
        r"([\d.]+)% \((\d+)/\d+\) of the PHP goals have been achieved or part achieved",
        ("goals_achieved_or_part_percent", "goals_achieved_or_part"),
    ),
}

# The Kensington and Chelsea column of table 7.1.18, by the service_summary column it shows.
LONDON_TABLE_FIGURES = {
    "Total HTs/THTs": "health_trainers_in_post",
    "Total WTE HTs/THTs": "total_wte",
    "Average Number of Clients seen per WTE": "clients_per_wte",
    "PHP to client ratio": "php_to_client_ratio",
    "No of PHPs per WTE": "phps_per_wte",
}


@dataclass
class Headline:
    """A figure as the report prints it: the printed text and its number of decimals."""

    text: str

    @property
    def value(self) -> float:
        return float(self.text)

    @property
    def decimals(self) -> int:
        return len(self.text.split(".")[1]) if "." in self.text else 0


def read_headlines(report: Path) -> dict[str, Headline]:
    """The headline figures the report's text states, by service_summary column name
    (and a few names of their own: eligible_percent, php_percent, projection_months)."""
    text = report.read_text(encoding="utf-8")
    headlines: dict[str, Headline] = {}
    for name, (pattern, columns) in HEADLINE_SENTENCES.items():
        found = re.findall(pattern, text)
        assert len(found) == 1, f"{name}: {len(found)} sentences match {pattern!r}"
        groups = found[0] if isinstance(found[0], tuple) else (found[0],)
        headlines.update(zip(columns, map(Headline, groups), strict=True))
    london = read_london_table(report)
    for figure, column in LONDON_TABLE_FIGURES.items():
        headlines[column] = Headline(london[figure][0])
    return headlines
