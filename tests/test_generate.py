"""The synthetic export generator (src/dcrs/generate.py): small exports, checked file by file
with the csv module, and one of them run through the real pipeline."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import ROOT, run_dcrs
from mart_contract import check_mart_contract, narrowed_to_contract

from dcrs.export_contract import EXPORT_FILES, MANIFEST_FILE
from dcrs.generate import generate

CLIENTS, SERVICES, MONTHS = 2000, 2, 3
DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")
PADDED_DATE = re.compile(r"\d{2}/\d{2}/\d{4}")
POSTCODE = re.compile(r"[A-Z][A-Z]?[0-9][A-Z0-9]?[0-9][A-Z][A-Z]")
COLUMNS = {export_file.file_name: export_file.columns for export_file in EXPORT_FILES}


def label_key(value: str) -> str:
    return " ".join(
        value.translate(str.maketrans("\u2013\u2014\u2018\u2019", "--''")).split()
    ).lower()


def code_lists() -> dict[str, set[str]]:
    lists: dict[str, set[str]] = {}
    with (ROOT / "seeds" / "code_lists.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            lists.setdefault(row["code_list"], set()).add(label_key(row["code"]))
    return lists


def rows(export: Path, file_name: str) -> list[dict[str, str]]:
    with (export / file_name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def uk_date(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate(tmp_path_factory.mktemp("generated"), CLIENTS, SERVICES, MONTHS)


def by_service(exports: list[Path]) -> dict[str, list[Path]]:
    services: dict[str, list[Path]] = {}
    for export in exports:
        services.setdefault(export.parent.name, []).append(export)
    return services


@pytest.mark.fast
def test_layout_and_manifests_agree_with_the_files(exports: list[Path]) -> None:
    assert len(exports) == SERVICES * MONTHS
    extract_dates = [export.name for export in exports]
    assert extract_dates == sorted(extract_dates), "oldest first"
    assert sorted(set(extract_dates)) == ["2010-03-31", "2010-04-30", "2010-05-31"]
    assert sorted(by_service(exports)) == ["S001", "S002"]
    for export in exports:
        manifest = json.loads((export / MANIFEST_FILE).read_text())
        number = int(export.parent.name[1:])
        assert manifest["service_code"] == export.parent.name
        assert manifest["service_name"] == f"Synthetic Health Trainer Service {number}"
        assert manifest["extract_date"] == export.name
        assert set(manifest["row_counts"]) == set(COLUMNS)
        for file_name, columns in COLUMNS.items():
            with (export / file_name).open(encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                assert tuple(next(reader)) == columns
                assert sum(1 for _ in reader) == manifest["row_counts"][file_name], file_name
    last = [json.loads((e / MANIFEST_FILE).read_text()) for e in exports[-SERVICES:]]
    assert sum(manifest["row_counts"]["clients.csv"] for manifest in last) == CLIENTS


@pytest.mark.fast
def test_same_seed_same_bytes_other_seed_other_data(exports: list[Path], tmp_path: Path) -> None:
    again = generate(tmp_path / "again", CLIENTS, SERVICES, MONTHS)
    other = generate(tmp_path / "other", CLIENTS, SERVICES, MONTHS, seed=7)
    for first, second in zip(exports, again, strict=True):
        for file_name in (*COLUMNS, MANIFEST_FILE):
            assert (first / file_name).read_bytes() == (second / file_name).read_bytes()
    assert (exports[0] / "clients.csv").read_bytes() != (other[0] / "clients.csv").read_bytes()


@pytest.mark.fast
def test_exports_are_cumulative(exports: list[Path]) -> None:
    for months in by_service(exports).values():
        previous_clients: dict[str, dict[str, str]] = {}
        previous_goals: dict[str, dict[str, str]] = {}
        for export in months:
            clients = {row["client_id"]: row for row in rows(export, "clients.csv")}
            goals = {row["goal_id"]: row for row in rows(export, "goals.csv")}
            extract = date.fromisoformat(export.name)
            assert len(clients) > len(previous_clients) and len(goals) > len(previous_goals)
            assert all(uk_date(row["registration_date"]) <= extract for row in clients.values())
            for client_id, before in previous_clients.items():
                now = clients[client_id]  # still there, with the same unchanging values
                for column in ("registration_date", "date_of_birth", "postcode", "ward", "bmi"):
                    assert now[column] == before[column], (client_id, column)
            for goal_id, before in previous_goals.items():
                now = goals[goal_id]
                for column in ("client_id", "goal_set_date", "goal"):
                    assert now[column] == before[column], (goal_id, column)
                if before["outcome"]:
                    assert (now["outcome"], now["outcome_date"]) == (
                        before["outcome"],
                        before["outcome_date"],
                    )
            previous_clients, previous_goals = clients, goals


@pytest.mark.fast
def test_later_exports_change_a_few_records(exports: list[Path]) -> None:
    first, second = by_service(exports)["S001"][:2]
    old_clients = {row["client_id"]: row for row in rows(first, "clients.csv")}
    new_clients = {row["client_id"]: row for row in rows(second, "clients.csv")}
    corrected = [
        client_id
        for client_id, row in old_clients.items()
        if (row["ethnicity"], row["disability"])
        != (new_clients[client_id]["ethnicity"], new_clients[client_id]["disability"])
    ]
    old_goals = {row["goal_id"]: row for row in rows(first, "goals.csv")}
    new_goals = {row["goal_id"]: row for row in rows(second, "goals.csv")}
    gained = [
        goal_id
        for goal_id, row in old_goals.items()
        if not row["outcome"] and new_goals[goal_id]["outcome"]
    ]
    assert 0 < len(corrected) < 0.1 * len(old_clients)
    assert 0 < len(gained) < 0.1 * len(old_goals)
    for goal_id in gained:
        outcome_on = uk_date(new_goals[goal_id]["outcome_date"])
        assert date.fromisoformat(first.name) < outcome_on <= date.fromisoformat(second.name)


@pytest.mark.fast
def test_values_follow_the_contract(exports: list[Path]) -> None:
    lists = code_lists()
    for export in exports:
        extract = date.fromisoformat(export.name)
        trainers = {row["health_trainer_id"]: row for row in rows(export, "health_trainers.csv")}
        for trainer in trainers.values():
            assert lists["role"] >= {label_key(trainer["role"])}
            assert 0 < float(trainer["wte"]) <= 1
            assert uk_date(trainer["start_date"]) <= extract
            assert not trainer["end_date"] or uk_date(trainer["end_date"]) <= extract
        clients = {}
        for row in rows(export, "clients.csv"):
            clients[row["client_id"]] = row
            registered = uk_date(row["registration_date"])
            assert PADDED_DATE.fullmatch(row["registration_date"])
            assert row["health_trainer_id"] in trainers
            assert uk_date(trainers[row["health_trainer_id"]]["start_date"]) <= registered
            for column in (
                "gender",
                "ethnicity",
                "disability",
                "how_heard",
                "referral_source",
                "primary_health_issue",
                "signposted_to",
            ):
                if row[column]:
                    assert label_key(row[column]) in lists[column], (column, row[column])
            assert not row["deprivation_quintile"] or row["deprivation_quintile"] in "12345"
            if row["date_of_birth"] not in ("", "Declined"):
                born = uk_date(row["date_of_birth"])
                assert 16 <= (registered - born).days / 365.25 < 100
            if row["postcode"]:
                compact = row["postcode"].replace(" ", "").upper()
                assert POSTCODE.fullmatch(compact)
            assert (row["referral_source"] == "Other") or not row["referral_source_other"]
            assessed = bool(row["initial_assessment_date"])
            assert bool(row["eligible"]) == assessed
            if assessed:
                assert registered <= uk_date(row["initial_assessment_date"]) <= extract
            eligible = row["eligible"] == "Yes"
            assert eligible or not (row["bmi"] or row["primary_health_issue"])
            if row["bmi"]:
                assert 12 <= float(row["bmi"]) <= 90
        per_client = Counter()
        for goal in rows(export, "goals.csv"):
            client = clients[goal["client_id"]]
            per_client[goal["client_id"]] += 1
            assert client["eligible"] == "Yes"
            set_on = uk_date(goal["goal_set_date"])
            assert DATE.fullmatch(goal["goal_set_date"])
            assert uk_date(client["initial_assessment_date"]) <= set_on <= extract
            assert label_key(goal["goal"]) in lists["goal"]
            assert bool(goal["outcome"]) == bool(goal["outcome_date"])
            if goal["outcome"]:
                assert label_key(goal["outcome"]) in lists["outcome"]
                assert set_on < uk_date(goal["outcome_date"]) <= extract
        stages = Counter()
        for score in rows(export, "wellbeing_scores.csv"):
            assert per_client[score["client_id"]] > 0, "scores only for clients with goals"
            maximum = 25 if score["instrument"] == "who5" else 100
            assert 0 <= int(score["score"]) <= maximum
            assert uk_date(score["recorded_date"]) <= extract
            stages[(score["client_id"], score["instrument"], score["stage"])] += 1
        assert set(stages.values()) == {1}
        pairs = Counter((client_id, instrument) for client_id, instrument, _ in stages)
        assert set(pairs.values()) == {2}, "baseline and follow-up always come as a pair"


@pytest.mark.fast
def test_volumes_are_like_the_scale_reference(exports: list[Path]) -> None:
    """About 2.5 goals and 2 wellbeing score rows per client; eligibility about 95%."""
    manifests = [json.loads((e / MANIFEST_FILE).read_text()) for e in exports[-SERVICES:]]
    counts = Counter()
    for manifest in manifests:
        counts.update(manifest["row_counts"])
    assert 2.2 < counts["goals.csv"] / counts["clients.csv"] < 2.8
    assert 1.7 < counts["wellbeing_scores.csv"] / counts["clients.csv"] < 2.3
    eligible = sum(
        row["eligible"] == "Yes"
        for export in exports[-SERVICES:]
        for row in rows(export, "clients.csv")
    )
    assert 0.9 < eligible / CLIENTS < 0.98
    assert 0.5 * CLIENTS / 40 < counts["health_trainers.csv"] < 1.5 * CLIENTS / 40


def test_the_pipeline_loads_a_generated_export_without_rejecting_anything(
    exports: list[Path], tmp_path: Path
) -> None:
    export = by_service(exports)["S002"][-1]
    warehouse = tmp_path / "dcrs.duckdb"
    result = run_dcrs(export, warehouse)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "rows rejected 0," in output
    assert "values counted as Invalid 0" in output
    # checked on its own columns: measure_breakdown has more (tests/mart_contract.py)
    contract = check_mart_contract(narrowed_to_contract(warehouse, tmp_path / "contract"))
    assert contract.returncode == 0, contract.stdout + contract.stderr
