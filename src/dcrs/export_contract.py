"""The DCRS export contract (shared/spec/dcrs-export.md) as data: files, tables, columns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class ExportError(Exception):
    """The export cannot be trusted: nothing from it may be published. The message names
    the file and, where there is one, the line and column; never a value of a record."""

    def __init__(self, path: Path, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class ExportFile:
    """One CSV file of an export and the raw table it loads into; ``may_be_empty``: the
    contract allows the file to hold a header only."""

    file_name: str
    table: str
    columns: tuple[str, ...]
    may_be_empty: bool = False


CLIENT_COLUMNS = (
    "client_id",
    "health_trainer_id",
    "registration_date",
    "gender",
    "date_of_birth",
    "ethnicity",
    "disability",
    "postcode",
    "ward",
    "deprivation_quintile",
    "how_heard",
    "referral_source",
    "referral_source_other",
    "eligible",
    "initial_assessment_date",
    "primary_health_issue",
    "bmi",
    "signposted_to",
)

EXPORT_FILES = (
    ExportFile("clients.csv", "clients", CLIENT_COLUMNS),
    ExportFile(
        "goals.csv",
        "goals",
        ("goal_id", "client_id", "goal_set_date", "goal", "outcome", "outcome_date"),
        may_be_empty=True,
    ),
    ExportFile(
        "wellbeing_scores.csv",
        "wellbeing_scores",
        ("client_id", "instrument", "stage", "score", "recorded_date"),
        may_be_empty=True,
    ),
    ExportFile(
        "health_trainers.csv",
        "health_trainers",
        ("health_trainer_id", "role", "locality", "wte", "start_date", "end_date"),
    ),
)

MANIFEST_FILE = "manifest.json"
