"""Build and damage DCRS exports for tests (small files, written with the csv module)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from dcrs.export_contract import EXPORT_FILES

COLUMNS = {export_file.file_name: export_file.columns for export_file in EXPORT_FILES}


def read_rows(export: Path, file_name: str) -> list[dict[str, str]]:
    with (export / file_name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(
    export: Path,
    file_name: str,
    rows: list[dict[str, str]],
    columns: list[str] | None = None,
    encoding: str = "utf-8",
    update_manifest: bool = True,
) -> None:
    columns = columns or list(COLUMNS[file_name])
    with (export / file_name).open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    if update_manifest:
        set_row_count(export, file_name, len(rows))


def set_row_count(export: Path, file_name: str, count: int) -> None:
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["row_counts"][file_name] = count
    (export / "manifest.json").write_text(json.dumps(manifest, indent=2))


def write_export(
    export: Path,
    clients: list[dict[str, str]],
    goals: list[dict[str, str]] = (),
    scores: list[dict[str, str]] = (),
    trainers: list[dict[str, str]] | None = None,
    extract_date: str = "2010-08-31",
) -> Path:
    """A whole export from a few rows; blank columns are filled with ''."""
    export.mkdir(parents=True, exist_ok=True)
    trainers = trainers or [
        {
            "health_trainer_id": "HT01",
            "role": "Health Trainer",
            "locality": "North",
            "wte": "1.0",
            "start_date": "01/03/2010",
            "end_date": "",
        },
    ]
    (export / "manifest.json").write_text(
        json.dumps(
            {
                "service_code": "KC",
                "service_name": "Kensington and Chelsea Health Trainer Service",
                "extract_date": extract_date,
                "row_counts": {},
            }
        )
    )
    for file_name, rows in (
        ("clients.csv", clients),
        ("goals.csv", list(goals)),
        ("wellbeing_scores.csv", list(scores)),
        ("health_trainers.csv", trainers),
    ):
        write_rows(export, file_name, rows)
    return export


def client(client_id: str, **values: str) -> dict[str, str]:
    """A valid, fully recorded client; keyword arguments override fields."""
    row = {
        "client_id": client_id,
        "health_trainer_id": "HT01",
        "registration_date": "15/03/2010",
        "gender": "Female",
        "date_of_birth": "01/01/1970",
        "ethnicity": "White - British",
        "disability": "Not disabled",
        "postcode": "W10 5AB",
        "ward": "Golborne",
        "deprivation_quintile": "1",
        "how_heard": "Word of mouth",
        "referral_source": "Self",
        "referral_source_other": "",
        "eligible": "Yes",
        "initial_assessment_date": "16/03/2010",
        "primary_health_issue": "Diet",
        "bmi": "27.5",
        "signposted_to": "Not required",
    }
    row.update(values)
    return row


def set_manifest(export: Path, **values: object) -> None:
    """Set top-level values of the export's manifest.json (any JSON value)."""
    manifest = json.loads((export / "manifest.json").read_text())
    manifest.update(values)
    (export / "manifest.json").write_text(json.dumps(manifest, indent=2))


def csv_field(value: str, quote_all: bool = False) -> str:
    """RFC 4180: a value holding a comma, quote or line break is quoted, its quotes doubled
    (the csv module leaves a CR unquoted when the line ending is LF)."""
    if quote_all or any(character in value for character in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_bytes(
    rows: list[list[str]], endings: list[str] | str = "\r\n", encoding: str = "utf-8"
) -> bytes:
    """Rows (the header first) as CSV bytes; ``endings``: one line ending for every row,
    or one per row (mixed line endings)."""
    if isinstance(endings, str):
        endings = [endings] * len(rows)
    text = "".join(
        ",".join(csv_field(value) for value in row) + ending
        for row, ending in zip(rows, endings, strict=True)
    )
    return text.encode(encoding)


def line_breaks(text: str) -> int:
    """Line breaks in ``text``: CR LF, LF or CR alone (each one break)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")
