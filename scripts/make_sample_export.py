#!/usr/bin/env python3
"""Write the bundled sample DCRS export: a synthetic Kensington and Chelsea extract.

The export is the Kensington and Chelsea Health Trainer service as the national DCRS would
have exported it on 31 August 2010, made up client by client so that the measures of
shared/spec/measures.md, computed from it, reproduce every table of section 7.1 of the 2010
evaluation report: 116 clients (85 women, 31 men), 111 eligible, 99 with a Personal Health
Plan, 256 goals, 6 health trainers at 5.4 WTE, registrations March to August 2010. No row
describes a real person; postcodes are synthetic but well formed.

The five files follow shared/spec/dcrs-export.md, including irregularities that real exports
carry and the loader must absorb: goal labels with an en-dash where the report prints one,
postcodes in lower case or without a space, dates without leading zeros.

The output is deterministic (fixed seeds): running the script twice writes byte-identical
files. After writing, the script re-reads the files with the csv module and checks every
count and rule against the report, independently of the generator, printing a short tally;
it exits non-zero if anything is off.

Usage (Python 3.11, standard library only), from the repository root:

    python scripts/make_sample_export.py                # write data/sample/kc-2010-08-31/
    python scripts/make_sample_export.py --out DIR      # write somewhere else
    python scripts/make_sample_export.py --check-only   # check an existing export
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SEED = 20100831
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "sample" / "kc-2010-08-31"

SERVICE_CODE = "KC"
SERVICE_NAME = "Kensington and Chelsea Health Trainer Service"
EXTRACT_DATE = date(2010, 8, 31)
FIRST_REGISTRATION_DAY = date(2010, 3, 8)  # the trainers started on 1 and 2 March

COLUMNS = {
    "clients.csv": (
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
    ),
    "goals.csv": ("goal_id", "client_id", "goal_set_date", "goal", "outcome", "outcome_date"),
    "wellbeing_scores.csv": ("client_id", "instrument", "stage", "score", "recorded_date"),
    "health_trainers.csv": (
        "health_trainer_id",
        "role",
        "locality",
        "wte",
        "start_date",
        "end_date",
    ),
}

EN_DASH = "\u2013"

# --------------------------------------------------------------------------------------------
# Section 7.1 of the evaluation report: the counts the export must reproduce.
# A blank key ("") counts clients or goals with the field left blank.
# --------------------------------------------------------------------------------------------

GENDER = {"Female": 85, "Male": 31}
AGE_BAND = {
    "Declined": 4,
    "< 18": 1,
    "18 - 25": 3,
    "26 - 35": 24,
    "36 - 45": 29,
    "46 - 55": 29,
    "56 - 65": 14,
    "Over 65": 11,
    "Not recorded": 1,
}
ETHNICITY = {
    "White - British": 28,
    "White - Irish": 3,
    "Other White Background": 12,
    "Mixed - White and Black African": 1,
    "Mixed - Any Other Mixed Background": 3,
    "Asian or Asian British - Indian": 3,
    "Asian or Asian British - Pakistani": 2,
    "Asian or Asian British - Bangladeshi": 1,
    "Any Other Asian Background": 2,
    "Black or Black British - Caribbean": 11,
    "Black or Black British - African": 31,
    "Any Other Black Background": 11,
    "Chinese": 1,
    "Any Other Ethnic Group": 6,
    "Not Stated": 1,
}
DISABILITY = {"": 49, "Disabled": 20, "Not disabled": 47}
# The designed joint relations (relate()): a client with a diet or exercise goal is ranked
# JOINT_GOAL_WEIGHT ahead (on a random lean of 0 to 1) for the highest BMIs; a client's age
# over JOINT_AGE_SPAN years adds to the same lean for being disabled (unknown age: 45).
JOINT_GOAL_WEIGHT = 0.5
JOINT_AGE_SPAN = 60
JOINT_UNKNOWN_AGE = 45
HOW_HEARD = {
    "At work": 1,
    "By being referred": 13,
    "Community services": 28,
    "Local media": 1,
    "Other care services": 2,
    "Poster / leaflet": 19,
    "Promotional event": 19,
    "Word of mouth": 33,
}
REFERRAL_SOURCE = {
    "Community / voluntary services": 26,
    "Emotional wellbeing services": 1,
    "GP or other primary care services": 5,
    "Health Trainer services": 8,
    "Hospital services": 3,
    "Local authority services": 3,
    "Other": 5,
    "Self": 65,
}
REFERRAL_SOURCE_OTHER = {
    "Wayfinders (Age Concern)": 1,
    "Health Checks Team": 2,
    "Westway Development Trust - other team": 2,
}
DEPRIVATION_QUINTILE = {"1": 69, "2": 29, "3": 8, "4": 8, "": 2}
POSTCODE_DISTRICT = {
    "": 1,
    "SW10": 11,
    "SW1X": 1,
    "SW3": 4,
    "SW5": 15,
    "SW6": 1,
    "SW7": 3,
    "W10": 47,
    "W11": 22,
    "W12": 2,
    "W14": 4,
    "W2": 2,
    "W8": 3,
}
WARD = {
    "": 2,
    "Abingdon": 2,
    "Brompton": 1,
    "Campden": 1,
    "College Park and Old Oak": 1,
    "Colville": 8,
    "Courtfield": 3,
    "Cremorne": 8,
    "Earl's Court": 9,
    "Golborne": 20,
    "Hans Town": 2,
    "Holland": 5,
    "Hyde Park": 1,
    "Norland": 7,
    "Notting Barns": 12,
    "Parsons Green and Walham": 1,
    "Pembridge": 3,
    "Queen's Gate": 2,
    "Redcliffe": 5,
    "Royal Hospital": 2,
    "Shepherd's Bush Green": 2,
    "St Charles": 17,
    "Stanley": 2,
}
TARGET_WARDS = ("Golborne", "St Charles", "Notting Barns", "Colville", "Cremorne", "Earl's Court")
MONTH_FIRST_SEEN = {3: 14, 4: 23, 5: 20, 6: 13, 7: 26, 8: 20}  # months of 2010
ELIGIBLE = {"Yes": 111, "No": 3, "": 2}
PRIMARY_HEALTH_ISSUE = {  # eligible clients
    "Diet": 45,
    "Emotional wellbeing": 5,
    "Exercise": 44,
    "Smoking": 7,
    "": 10,
}
BMI_BAND = {  # eligible clients
    "< 20": 7,
    "20 - 25": 23,
    "25 - 30": 25,
    "30 - 35": 22,
    "35 - 40": 11,
    "Over 40": 4,
    "Not recorded": 19,
}
GOALS_PER_CLIENT = {0: 17, 1: 26, 2: 28, 3: 25, 4: 10, 5: 6, 7: 3, 8: 1}
GOAL = {  # spelt as the report's table prints them
    "Alcohol - Reduce": 4,
    "Diet - Change": 21,
    f"Diet {EN_DASH} Increase - Fruit/veg intake": 35,
    f"Diet {EN_DASH} Increase - Healthy snacks": 4,
    f"Diet {EN_DASH} Increase - Intake of water": 10,
    f"Diet {EN_DASH} Reduce - Fatty food intake": 6,
    f"Diet {EN_DASH} Reduce - Fizzy drink intake": 3,
    f"Diet {EN_DASH} Reduce - Fried food intake": 5,
    f"Diet {EN_DASH} Reduce - Portion size": 9,
    f"Diet {EN_DASH} Reduce - Tea/coffee intake": 1,
    "Diet - Reduce - Unhealthy snacks": 9,
    f"Exercise {EN_DASH} Increase - Light": 17,
    f"Exercise {EN_DASH} Increase - Moderate": 56,
    "Exercise - Increase - Vigorous": 29,
    "Other": 37,
    "Smoking - Reduce": 7,
    "Smoking - Stop": 3,
}
GOAL_TYPE = {"Alcohol": 4, "Diet": 103, "Exercise": 102, "Other": 37, "Smoking": 10}
GOAL_OUTCOME = {"Achieved": 84, "Part Achieved": 23, "Not Achieved": 11, "": 138}
# Change bands, keyed by the rounded change; the first and last keys take everything beyond.
SELF_EFFICACY_CHANGE = {-10: 0, -5: 3, 0: 7, 5: 5, 10: 5, 15: 4, 20: 3, 25: 3}
GENERAL_HEALTH_CHANGE = {
    -20: 0,
    -10: 2,
    0: 1,
    10: 4,
    20: 5,
    30: 5,
    40: 3,
    50: 2,
    60: 2,
    70: 2,
}
WHO5_CHANGE = {
    -15: 0,
    -10: 1,
    -5: 0,
    0: 3,
    5: 3,
    10: 1,
    15: 2,
    20: 4,
    25: 0,
    30: 1,
    35: 1,
    40: 5,
    45: 8,
}
SIGNPOSTED_TO = {
    "Not required": 38,
    "": 74,
    "Community / voluntary services": 1,
    "Emotional wellbeing services": 1,
    "Health Trainer Services": 1,
    "Local authority services": 1,
}
TRAINER_COUNT = 6
TOTAL_WTE = Decimal("5.4")

# --------------------------------------------------------------------------------------------
# How the generator meets them.
# --------------------------------------------------------------------------------------------

# (ward, postcode district, postcode sector, deprivation quintile, clients).
# Each ward sits in a district it really spans. The ward-less W10 row is the client whose
# postcode the DCRS did not recognise (no ward, no quintile); the last row is the client with
# no postcode at all.
LOCATIONS = (
    ("Golborne", "W10", "5", 1, 20),
    ("St Charles", "W10", "6", 1, 17),
    ("Notting Barns", "W10", "6", 1, 6),
    ("Notting Barns", "W11", "1", 1, 6),
    ("Colville", "W10", "5", 1, 2),
    ("Colville", "W11", "1", 1, 6),
    ("College Park and Old Oak", "W10", "4", 1, 1),
    ("Shepherd's Bush Green", "W12", "8", 1, 2),
    ("Norland", "W11", "4", 2, 7),
    ("Pembridge", "W11", "2", 2, 2),
    ("Pembridge", "W2", "4", 2, 1),
    ("Holland", "W11", "3", 2, 1),
    ("Holland", "W14", "8", 2, 2),
    ("Holland", "W14", "8", 3, 1),
    ("Holland", "W8", "7", 3, 1),
    ("Abingdon", "W8", "6", 3, 1),
    ("Abingdon", "W14", "8", 3, 1),
    ("Hyde Park", "W2", "2", 3, 1),
    ("Campden", "W8", "4", 4, 1),
    ("Earl's Court", "SW5", "9", 1, 3),
    ("Earl's Court", "SW5", "9", 2, 6),
    ("Redcliffe", "SW5", "0", 2, 4),
    ("Redcliffe", "SW10", "9", 2, 1),
    ("Courtfield", "SW5", "0", 3, 1),
    ("Courtfield", "SW5", "0", 4, 1),
    ("Courtfield", "SW7", "4", 4, 1),
    ("Cremorne", "SW10", "0", 1, 6),
    ("Cremorne", "SW10", "0", 2, 2),
    ("Stanley", "SW10", "0", 2, 2),
    ("Parsons Green and Walham", "SW6", "4", 2, 1),
    ("Royal Hospital", "SW3", "4", 3, 2),
    ("Hans Town", "SW3", "2", 4, 1),
    ("Hans Town", "SW1X", "0", 4, 1),
    ("Brompton", "SW3", "3", 4, 1),
    ("Queen's Gate", "SW7", "5", 4, 2),
    ("", "W10", "9", None, 1),
    ("", "", "", None, 1),
)
# Locations with this many clients or more hold two neighbours sharing a full postcode.
SHARED_POSTCODE_MIN_CLIENTS = 7
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in the inward code of a UK postcode
NORTH_DISTRICTS = frozenset({"W10", "W11", "W12", "W2", ""})

# How each client heard of the service and who referred them, jointly:
# (how_heard, referral_source, referral_source_other): clients.
HEARD_AND_REFERRED = {
    ("By being referred", "GP or other primary care services", ""): 5,
    ("By being referred", "Hospital services", ""): 3,
    ("By being referred", "Emotional wellbeing services", ""): 1,
    ("By being referred", "Local authority services", ""): 3,
    ("By being referred", "Other", "Wayfinders (Age Concern)"): 1,
    ("Other care services", "Other", "Health Checks Team"): 2,
    ("Community services", "Community / voluntary services", ""): 24,
    ("Community services", "Other", "Westway Development Trust - other team"): 2,
    ("Community services", "Self", ""): 2,
    ("Promotional event", "Health Trainer services", ""): 6,
    ("Promotional event", "Self", ""): 13,
    ("Word of mouth", "Community / voluntary services", ""): 2,
    ("Word of mouth", "Health Trainer services", ""): 2,
    ("Word of mouth", "Self", ""): 29,
    ("Poster / leaflet", "Self", ""): 19,
    ("At work", "Self", ""): 1,
    ("Local media", "Self", ""): 1,
}

# Age bands: (youngest, oldest) age drawn for the band's clients.
AGE_RANGES = {
    "< 18": (16, 17),
    "18 - 25": (18, 25),
    "26 - 35": (26, 35),
    "36 - 45": (36, 45),
    "46 - 55": (46, 55),
    "56 - 65": (56, 65),
    "Over 65": (66, 84),
}
# Clients registered on a birthday ("birthday") or the day before one ("eve") at a band edge:
# (band, age on the registration date, timing).
AGE_EDGE_CASES = (
    ("18 - 25", 18, "birthday"),
    ("26 - 35", 26, "birthday"),
    ("26 - 35", 35, "eve"),
    ("56 - 65", 65, "eve"),
    ("Over 65", 66, "birthday"),
)

# BMI bands as (lower bound in tenths, upper bound in tenths, values that must appear).
# Bounds for the open bands are plausible limits, inside the valid 12 to 90.
BMI_DESIGN = {
    "< 20": (165, 200, (19.9,)),
    "20 - 25": (200, 250, (20.0, 24.9)),
    "25 - 30": (250, 300, (25.0, 29.9)),
    "30 - 35": (300, 350, (30.0,)),
    "35 - 40": (350, 400, (35.0, 39.9)),
    "Over 40": (400, 480, (40.0,)),
}

LATEST_WITHOUT_GOALS = 4  # eligible clients assessed last, whose plan is not written yet
INELIGIBLE_SIGNPOSTS = (
    "Community / voluntary services",
    "Emotional wellbeing services",
    "Local authority services",
)

# Goal types each primary health issue leans towards (weights on the labels still to place).
ISSUE_GOAL_WEIGHTS = {
    "Diet": {"Diet": 4.0, "Exercise": 2.0, "Other": 1.0, "Smoking": 0.2, "Alcohol": 0.2},
    "Exercise": {"Exercise": 4.0, "Diet": 2.0, "Other": 1.0, "Smoking": 0.2, "Alcohol": 0.2},
    "Smoking": {"Smoking": 20.0, "Alcohol": 4.0, "Diet": 1.0, "Exercise": 1.0, "Other": 1.0},
    "Emotional wellbeing": {"Other": 4.0, "Alcohol": 4.0, "Exercise": 2.0, "Diet": 1.0},
}

# Raw score changes (follow-up minus baseline, on the instrument's own scale) by the band they
# land in once put on the percent scale and rounded to the band step, halves away from zero.
SELF_EFFICACY_CHANGES = {
    -5: (-7, -5, -3),
    0: (-2, -1, 0, 0, 0, 1, 2),
    5: (3, 4, 5, 6, 7),
    10: (8, 9, 10, 11, 12),
    15: (13, 14, 15, 17),
    20: (18, 20, 22),
    25: (25, 31, 40),
}
GENERAL_HEALTH_CHANGES = {  # -5, 5, 15, 25, 35, 55 are half steps
    -10: (-10, -5),
    0: (0,),
    10: (5, 10, 10, 12),
    20: (15, 18, 20, 20, 24),
    30: (25, 28, 30, 30, 33),
    40: (35, 40, 40),
    50: (46, 50),
    60: (55, 60),
    70: (70, 80),
}
WHO5_CHANGES = {  # raw totals: a change of r points is 4r percent
    -10: (-2,),
    0: (0, 0, 0),
    5: (1, 1, 1),
    10: (2,),
    15: (4, 4),
    20: (5, 5, 5, 5),
    30: (8,),
    35: (9,),
    40: (10, 10, 10, 10, 10),
    45: (11, 11, 12, 12, 13, 14, 15, 17),
}
# instrument: (highest raw score, clients, raw changes, usual range of baselines)
INSTRUMENT_DESIGN = {
    "self_efficacy": (100, 30, SELF_EFFICACY_CHANGES, (25, 75)),
    "general_health": (100, 26, GENERAL_HEALTH_CHANGES, (10, 70)),
    "who5": (25, 29, WHO5_CHANGES, (4, 16)),
}

TRAINERS = (
    ("HT01", "Health Trainer", "North", "1.0", date(2010, 3, 1)),
    ("HT02", "Trainee Health Trainer", "North", "1.0", date(2010, 3, 1)),
    ("HT03", "Trainee Health Trainer", "North", "1.0", date(2010, 3, 1)),
    ("HT04", "Health Trainer", "South", "0.8", date(2010, 3, 1)),
    ("HT05", "Trainee Health Trainer", "South", "0.8", date(2010, 3, 2)),
    ("HT06", "Trainee Health Trainer", "South", "0.8", date(2010, 3, 2)),
)
CROSS_LOCALITY_SHARE = 0.05  # clients seen by a trainer from the other locality
OUTCOME_JITTER_DAYS = 75  # how far a client's place in the queue for outcomes may slip

# Presentation: how often a date loses its leading zeros, and postcode spellings to vary.
UNPADDED_DATE_SHARE = 0.03
POSTCODE_VARIANTS = ("lower_no_space", "lower_no_space", "upper_no_space", "lower", "lower")


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------


def expand(counts: dict) -> list:
    """Each key of `counts` repeated as many times as its count."""
    return [value for value, count in counts.items() for _ in range(count)]


def shuffled(values: list, rng: random.Random) -> list:
    result = list(values)
    rng.shuffle(result)
    return result


def goal_type(label: str) -> str:
    return label.replace(EN_DASH, "-").split("-")[0].strip()


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


def registration_dates(rng: random.Random) -> list[date]:
    """Weekdays spread over the months as the report counts them, earliest first."""
    days = []
    for month, count in MONTH_FIRST_SEEN.items():
        first = FIRST_REGISTRATION_DAY if month == 3 else date(2010, month, 1)
        candidates = [first + timedelta(days=offset) for offset in range(31)]
        weekdays = [day for day in candidates if day.month == month and day.weekday() < 5]
        days.extend(rng.choices(weekdays, k=count))
    return sorted(days)


def new_postcode(district: str, sector: str, used: set[str], rng: random.Random) -> str:
    """A well-formed postcode in the sector, not yet given to anyone."""
    while True:
        postcode = f"{district} {sector}" + "".join(rng.choices(UNIT_LETTERS, k=2))
        if postcode not in used:
            used.add(postcode)
            return postcode


def locations(rng: random.Random) -> list[dict]:
    """One location per client: district, ward, quintile and a postcode in the district."""
    used: set[str] = set()
    rows: list[dict] = []
    for ward, district, sector, quintile, count in LOCATIONS:
        for index in range(count):
            if not district:
                postcode = ""
            elif index == 1 and count >= SHARED_POSTCODE_MIN_CLIENTS:
                postcode = rows[-1]["postcode"]  # next-door neighbours on the same estate
            else:
                postcode = new_postcode(district, sector, used, rng)
            rows.append(
                {
                    "postcode": postcode,
                    "ward": ward,
                    "deprivation_quintile": "" if quintile is None else str(quintile),
                    "_district": district,
                }
            )
    return rows


def age_plan(rng: random.Random) -> tuple[tuple, list[tuple]]:
    """(age, timing) for the under-18 client, and for everyone else.

    The age is a whole number of years, "Declined", or None (not recorded); the timing places
    the registration on a birthday or its eve, or anywhere in the year (None).
    """
    plan = [("Declined", None)] * AGE_BAND["Declined"] + [(None, None)] * AGE_BAND["Not recorded"]
    for band, (youngest, oldest) in AGE_RANGES.items():
        edges = [(age, timing) for edge_band, age, timing in AGE_EDGE_CASES if edge_band == band]
        others = AGE_BAND[band] - len(edges)
        plan.extend(edges + [(rng.randint(youngest, oldest), None) for _ in range(others)])
    minor = next(entry for entry in plan if isinstance(entry[0], int) and entry[0] < 18)
    plan.remove(minor)
    return minor, plan


def date_of_birth(registered: date, age: int, timing: str | None, rng: random.Random) -> date:
    """A birth date giving `age` whole years on `registered`."""
    if timing == "birthday":
        return years_before(registered, age)
    if timing == "eve":
        return years_before(registered + timedelta(days=1), age + 1)
    latest = years_before(registered, age) - timedelta(days=1)
    earliest = years_before(registered + timedelta(days=1), age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def build_clients(rng: random.Random) -> list[dict]:
    """The clients, earliest registration first, with every clients.csv column filled in."""
    registered = registration_dates(rng)
    numbers = rng.sample(range(1000, 10000), len(registered))
    clients = [
        {"client_id": f"KC{number:06d}", "registration_date": day}
        for number, day in zip(numbers, registered, strict=True)
    ]
    describe(clients, rng)
    eligible = assess(clients, rng)
    plan_goals(eligible, rng)
    measure_bmi(eligible, rng)
    signpost(clients, rng)
    allocate_trainers(clients, rng)
    return clients


def describe(clients: list[dict], rng: random.Random) -> None:
    """Where clients live, who they are, and how they came to the service."""
    for client, location in zip(clients, shuffled(locations(rng), rng), strict=True):
        client.update(location)
    for column, counts in (
        ("gender", GENDER),
        ("ethnicity", ETHNICITY),
        ("disability", DISABILITY),
    ):
        for client, value in zip(clients, shuffled(expand(counts), rng), strict=True):
            client[column] = value
    heard_and_referred = shuffled(expand(HEARD_AND_REFERRED), rng)
    for client, (heard, source, other) in zip(clients, heard_and_referred, strict=True):
        client.update(how_heard=heard, referral_source=source, referral_source_other=other)


def assess(clients: list[dict], rng: random.Random) -> list[dict]:
    """Eligibility, age and initial assessment; returns the eligible clients.

    The latest registrations are not yet assessed. The ineligible clients are drawn from the
    earlier ones, the first of them being the only client under 18.
    """
    decided = clients[: -ELIGIBLE[""]]
    ineligible = rng.sample(decided, ELIGIBLE["No"])
    ineligible_ids = {client["client_id"] for client in ineligible}
    eligible = [client for client in decided if client["client_id"] not in ineligible_ids]
    for client in clients:
        client.update(eligible="", initial_assessment_date=None, primary_health_issue="", bmi="")
        client.update(signposted_to="", _goal_count=0)
        if client["client_id"] in ineligible_ids:
            client["eligible"] = "No"
    for client in eligible:
        client["eligible"] = "Yes"
        delay = timedelta(days=rng.choice((0, 0, 0, 0, 1, 2, 3, 6, 7, 7, 14)))
        client["initial_assessment_date"] = min(client["registration_date"] + delay, EXTRACT_DATE)

    minor, plan = age_plan(rng)
    minor_client = ineligible[0]
    others = [client for client in clients if client is not minor_client]
    ages = [(minor_client, minor), *zip(others, shuffled(plan, rng), strict=True)]
    for client, (age, timing) in ages:
        if isinstance(age, int):
            client["date_of_birth"] = date_of_birth(client["registration_date"], age, timing, rng)
        else:
            client["date_of_birth"] = age or ""
    return eligible


def plan_goals(eligible: list[dict], rng: random.Random) -> None:
    """How many goals each eligible client has, and their primary health issue.

    Eligible clients without goals are the few assessed last and some who stopped coming.
    Every smoker has goals (the smoking goals go to them); other issues fall anywhere.
    """
    without_goals = GOALS_PER_CLIENT[0] - ELIGIBLE["No"] - ELIGIBLE[""]
    by_assessment = sorted(eligible, key=lambda client: client["initial_assessment_date"])
    latest = by_assessment[-LATEST_WITHOUT_GOALS:]
    stopped = rng.sample(by_assessment[:-LATEST_WITHOUT_GOALS], without_goals - len(latest))
    idle_ids = {client["client_id"] for client in latest + stopped}
    with_goals = [client for client in eligible if client["client_id"] not in idle_ids]
    goal_counts = shuffled(
        expand({count: n for count, n in GOALS_PER_CLIENT.items() if count}), rng
    )
    for client, count in zip(with_goals, goal_counts, strict=True):
        client["_goal_count"] = count

    smokers = rng.sample(with_goals, PRIMARY_HEALTH_ISSUE["Smoking"])
    smoker_ids = {client["client_id"] for client in smokers}
    others = [client for client in eligible if client["client_id"] not in smoker_ids]
    other_issues = [issue for issue in expand(PRIMARY_HEALTH_ISSUE) if issue != "Smoking"]
    for client in smokers:
        client["primary_health_issue"] = "Smoking"
    for client, issue in zip(others, shuffled(other_issues, rng), strict=True):
        client["primary_health_issue"] = issue


def measure_bmi(eligible: list[dict], rng: random.Random) -> None:
    """BMI at initial assessment for some eligible clients, the band edges among them."""
    values = []
    for band, (lower, upper, fixed) in BMI_DESIGN.items():
        drawn = [rng.randrange(lower, upper) / 10 for _ in range(BMI_BAND[band] - len(fixed))]
        values.extend([*fixed, *drawn])
    measured = rng.sample(eligible, len(values))
    for client, value in zip(measured, shuffled(values, rng), strict=True):
        client["bmi"] = f"{value:.1f}"


def signpost(clients: list[dict], rng: random.Random) -> None:
    """Ineligible clients are signposted elsewhere; most others have it not required or blank."""
    ineligible = [client for client in clients if client["eligible"] == "No"]
    for client, service in zip(ineligible, INELIGIBLE_SIGNPOSTS, strict=True):
        client["signposted_to"] = service
    eligible = [client for client in clients if client["eligible"] == "Yes"]
    referred_on, *rest = rng.sample(eligible, 1 + SIGNPOSTED_TO["Not required"])
    referred_on["signposted_to"] = "Health Trainer Services"
    for client in rest:
        client["signposted_to"] = "Not required"


def allocate_trainers(clients: list[dict], rng: random.Random) -> None:
    """North trainers see the north of the borough, South trainers the south, with exceptions."""
    for client in clients:
        north = client["_district"] in NORTH_DISTRICTS
        if rng.random() < CROSS_LOCALITY_SHARE:
            north = not north
        locality = "North" if north else "South"
        trainers = [trainer[0] for trainer in TRAINERS if trainer[2] == locality]
        client["health_trainer_id"] = rng.choice(trainers)


def realisable(label_counts: list[int], goal_counts: list[int]) -> bool:
    """Gale-Ryser: can clients take these many distinct labels, using each label this often?"""
    if sum(label_counts) != sum(goal_counts):
        return False
    taken = 0
    for size, count in enumerate(sorted(goal_counts, reverse=True), start=1):
        taken += count
        if taken > sum(min(left, size) for left in label_counts):
            return False
    return True


def pick_labels(remaining: dict[str, int], count: int, weights: dict[str, float]) -> list[str]:
    """The `count` labels with most weighted places left (ties by name)."""
    available = [label for label, left in remaining.items() if left > 0]
    available.sort(
        key=lambda label: (-remaining[label] * weights.get(goal_type(label), 1.0), label)
    )
    return available[:count]


def assign_goal_labels(clients: list[dict]) -> dict[str, list[str]]:
    """Distinct labels for each client, leaning to their primary issue, meeting GOAL exactly.

    Clients with most goals choose first. A choice that would leave the rest impossible to place
    falls back to the labels with most places left, which always keeps it possible.
    """
    remaining = dict(GOAL)
    planned = sorted(clients, key=lambda client: -client["_goal_count"])
    pending = [client["_goal_count"] for client in planned]
    labels = {}
    for client in planned:
        count = pending.pop(0)
        weights = ISSUE_GOAL_WEIGHTS.get(client["primary_health_issue"], {})
        chosen = pick_labels(remaining, count, weights)
        left = [remaining[label] - (label in chosen) for label in remaining]
        if not realisable(left, pending):
            chosen = pick_labels(remaining, count, {})
        for label in chosen:
            remaining[label] -= 1
        labels[client["client_id"]] = chosen
    return labels


def outcome_date(goal_set: date, rng: random.Random) -> date:
    """Three weeks to ten after the goal was set, or sooner if the extract comes first."""
    proposed = goal_set + timedelta(days=rng.randint(21, 70))
    if proposed <= EXTRACT_DATE:
        return proposed
    return goal_set + timedelta(days=rng.randint(1, (EXTRACT_DATE - goal_set).days))


def build_goals(clients: list[dict], rng: random.Random) -> list[dict]:
    """The goals of every client planned to have some, with dates and outcomes."""
    with_goals = [client for client in clients if client["_goal_count"]]
    labels = assign_goal_labels(with_goals)
    goals = []
    for client in with_goals:
        session = client["initial_assessment_date"] + timedelta(days=rng.choice((0, 0, 0, 7)))
        for label in shuffled(labels[client["client_id"]], rng):
            goals.append(
                {
                    "client_id": client["client_id"],
                    "goal_set_date": min(session, EXTRACT_DATE),
                    "goal": label,
                    "outcome": "",
                    "outcome_date": None,
                    "_registered": client["registration_date"],
                }
            )
            session += timedelta(days=rng.choice((0, 0, 7, 14)))
    goals.sort(key=lambda goal: (goal["goal_set_date"], goal["_registered"], goal["client_id"]))
    for number, goal in enumerate(goals, start=1):
        goal["goal_id"] = f"G{number:04d}"

    # Outcomes go to the goals of clients who came earlier, give or take a couple of months
    # (some finish quickly, some keep coming). A goal set on the extract date has none yet.
    jitter = {client["client_id"]: rng.uniform(0, OUTCOME_JITTER_DAYS) for client in with_goals}
    ranked = sorted(
        with_goals,
        key=lambda client: client["registration_date"].toordinal() + jitter[client["client_id"]],
    )
    outcomes = shuffled(expand({key: n for key, n in GOAL_OUTCOME.items() if key}), rng)
    goals_of = defaultdict(list)
    for goal in goals:
        goals_of[goal["client_id"]].append(goal)
    for client in ranked:
        for goal in goals_of[client["client_id"]]:
            if outcomes and goal["goal_set_date"] < EXTRACT_DATE:
                goal["outcome"] = outcomes.pop()
                goal["outcome_date"] = outcome_date(goal["goal_set_date"], rng)
    return goals


def build_scores(clients: list[dict], goals: list[dict], rng: random.Random) -> list[dict]:
    """Paired baseline and follow-up scores for clients whose goals have outcomes."""
    last_outcome: dict[str, date] = {}
    for goal in goals:
        if goal["outcome_date"]:
            previous = last_outcome.get(goal["client_id"], goal["outcome_date"])
            last_outcome[goal["client_id"]] = max(previous, goal["outcome_date"])
    completed = [client for client in clients if client["client_id"] in last_outcome]
    rows = []
    for instrument, (highest, count, changes, (low, high)) in INSTRUMENT_DESIGN.items():
        raw_changes = shuffled([change for band in changes.values() for change in band], rng)
        for client, change in zip(rng.sample(completed, count), raw_changes, strict=True):
            floor, ceiling = max(low, -change), min(high, highest - change)
            baseline = rng.randint(floor, ceiling)
            stages = (
                ("baseline", baseline, client["initial_assessment_date"]),
                ("follow_up", baseline + change, last_outcome[client["client_id"]]),
            )
            for stage, score, recorded in stages:
                rows.append(
                    {
                        "client_id": client["client_id"],
                        "instrument": instrument,
                        "stage": stage,
                        "score": str(score),
                        "recorded_date": recorded,
                    }
                )
    instruments = list(INSTRUMENT_DESIGN)
    rows.sort(key=lambda row: (row["client_id"], instruments.index(row["instrument"])))
    return rows


def build_trainers() -> list[dict]:
    return [
        {
            "health_trainer_id": trainer_id,
            "role": role,
            "locality": locality,
            "wte": wte,
            "start_date": start,
            "end_date": None,
        }
        for trainer_id, role, locality, wte, start in TRAINERS
    ]


class Presenter:
    """Renders values as an export writes them, the odd date without its leading zeros."""

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)

    def value(self, value: date | str | None) -> str:
        if value is None:
            return ""
        if not isinstance(value, date):
            return value
        if self.rng.random() < UNPADDED_DATE_SHARE:
            return f"{value.day}/{value.month}/{value.year}"
        return value.strftime("%d/%m/%Y")

    def row(self, record: dict, columns: tuple[str, ...]) -> list[str]:
        return [self.value(record[column]) for column in columns]


def vary_postcodes(clients: list[dict], rng: random.Random) -> None:
    """Spell a few postcodes as people type them: lower case, without the space."""
    with_postcode = [client for client in clients if client["postcode"]]
    chosen = rng.sample(with_postcode, len(POSTCODE_VARIANTS))
    for client, variant in zip(chosen, POSTCODE_VARIANTS, strict=True):
        postcode = client["postcode"].lower() if variant.startswith("lower") else client["postcode"]
        client["postcode"] = postcode.replace(" ", "") if variant.endswith("no_space") else postcode


def relate(clients: list[dict], goals: list[dict]) -> None:
    """The designed joint relations (docs/sample.md): obese clients more often set diet and
    exercise goals, older clients are more often disabled.

    Both only reorder values among the same clients: the BMIs among the clients measured,
    Disabled and Not disabled among the clients with disability recorded. Every count of
    every table stays as it was, and so does every other column. A random draw of its own
    (not the generator's) softens each relation, so that it is a tendency, not a sort.
    """
    rng = random.Random(f"{SEED}-joint")
    diet_or_exercise = {
        goal["client_id"] for goal in goals if goal_type(goal["goal"]) in ("Diet", "Exercise")
    }
    measured = [client for client in clients if client["bmi"]]
    lean = {client["client_id"]: rng.random() for client in measured}
    measured.sort(
        key=lambda client: (
            -(
                JOINT_GOAL_WEIGHT * (client["client_id"] in diet_or_exercise)
                + lean[client["client_id"]]
            )
        )
    )
    bmis = sorted((client["bmi"] for client in measured), key=Decimal, reverse=True)
    for client, bmi in zip(measured, bmis, strict=True):
        client["bmi"] = bmi

    recorded = [client for client in clients if client["disability"]]
    lean = {client["client_id"]: rng.random() for client in recorded}

    def age(client: dict) -> float:
        born = client["date_of_birth"]
        if not isinstance(born, date):
            return JOINT_UNKNOWN_AGE
        return (client["registration_date"] - born).days / 365.25

    recorded.sort(key=lambda client: -(age(client) / JOINT_AGE_SPAN + lean[client["client_id"]]))
    statuses = sorted((client["disability"] for client in recorded), key=lambda s: s != "Disabled")
    for client, status in zip(recorded, statuses, strict=True):
        client["disability"] = status


def write_csv(path: Path, columns: tuple[str, ...], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)  # RFC 4180: CRLF line ends, quotes only where needed
        writer.writerow(columns)
        writer.writerows(rows)


def write_export(out_dir: Path) -> None:
    rng = random.Random(SEED)
    clients = build_clients(rng)
    goals = build_goals(clients, rng)
    scores = build_scores(clients, goals, rng)
    vary_postcodes(clients, rng)
    relate(clients, goals)
    records = {
        "clients.csv": sorted(clients, key=lambda client: client["client_id"]),
        "goals.csv": sorted(goals, key=lambda goal: goal["goal_id"]),
        "wellbeing_scores.csv": scores,
        "health_trainers.csv": build_trainers(),
    }
    present = Presenter(f"{SEED}-presentation")
    out_dir.mkdir(parents=True, exist_ok=True)
    for file_name, rows in records.items():
        columns = COLUMNS[file_name]
        rendered = [present.row(record, columns) for record in rows]
        write_csv(out_dir / file_name, columns, rendered)
    manifest = {
        "service_code": SERVICE_CODE,
        "service_name": SERVICE_NAME,
        "extract_date": EXTRACT_DATE.isoformat(),
        "row_counts": {file_name: len(rows) for file_name, rows in records.items()},
    }
    manifest_text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (out_dir / "manifest.json").write_text(manifest_text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Check: re-read the written files, independently of the generator, and hold them to the
# report and the contract.
# --------------------------------------------------------------------------------------------

# Wards and the postcode districts they really span.
WARD_DISTRICTS = {
    "Golborne": {"W10"},
    "St Charles": {"W10"},
    "Notting Barns": {"W10", "W11"},
    "Colville": {"W11", "W2", "W10"},
    "Norland": {"W11"},
    "Pembridge": {"W11", "W2"},
    "Holland": {"W11", "W14", "W8"},
    "Abingdon": {"W8", "W14"},
    "Campden": {"W8"},
    "Hyde Park": {"W2"},
    "College Park and Old Oak": {"W10", "W12"},
    "Shepherd's Bush Green": {"W12"},
    "Earl's Court": {"SW5"},
    "Redcliffe": {"SW5", "SW10"},
    "Cremorne": {"SW10"},
    "Stanley": {"SW10", "SW3"},
    "Royal Hospital": {"SW3"},
    "Hans Town": {"SW3", "SW1X"},
    "Brompton": {"SW3", "SW7"},
    "Courtfield": {"SW5", "SW7"},
    "Queen's Gate": {"SW7", "SW5", "W8"},
    "Parsons Green and Walham": {"SW6"},
}
NORTH_TRAINER_DISTRICTS = {"W10", "W11"}
GOAL_CODE_LIST = (  # the contract's spelling
    "Alcohol - Reduce",
    "Diet - Change",
    "Diet - Increase - Fruit/veg intake",
    "Diet - Increase - Healthy snacks",
    "Diet - Increase - Intake of water",
    "Diet - Reduce - Fatty food intake",
    "Diet - Reduce - Fizzy drink intake",
    "Diet - Reduce - Fried food intake",
    "Diet - Reduce - Portion size",
    "Diet - Reduce - Tea/coffee intake",
    "Diet - Reduce - Unhealthy snacks",
    "Exercise - Increase - Light",
    "Exercise - Increase - Moderate",
    "Exercise - Increase - Vigorous",
    "Other",
    "Smoking - Reduce",
    "Smoking - Stop",
)
DATE_PATTERN = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")
POSTCODE_PATTERN = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}")
BMI_PATTERN = re.compile(r"\d{2}\.\d")
AGE_BANDS_FROM = ((66, "Over 65"), (56, "56 - 65"), (46, "46 - 55"), (36, "36 - 45"))
AGE_BANDS_FROM += ((26, "26 - 35"), (18, "18 - 25"), (0, "< 18"))
BMI_BANDS_FROM = ((40, "Over 40"), (35, "35 - 40"), (30, "30 - 35"), (25, "25 - 30"))
BMI_BANDS_FROM += ((20, "20 - 25"), (0, "< 20"))
# instrument: (highest raw score, percent per raw point, band step, report bands)
CHANGE_RULES = {
    "self_efficacy": (100, 1, 5, SELF_EFFICACY_CHANGE),
    "general_health": (100, 1, 10, GENERAL_HEALTH_CHANGE),
    "who5": (25, 4, 5, WHO5_CHANGE),
}
CAPTURE_THRESHOLD = Decimal(95)
CAPTURE_BELOW_THRESHOLD = {  # measures.md: the four fields the evaluation found short
    "disability": Decimal("57.8"),
    "primary_health_issue": Decimal("91.0"),
    "bmi": Decimal("82.9"),
    "signposted_to": Decimal("36.2"),
}
CAPTURE_FIELDS = (
    "health_trainer_id",
    "gender",
    "date_of_birth",
    "ethnicity",
    "disability",
    "postcode",
    "ward",
    "deprivation_quintile",
    "how_heard",
    "referral_source",
    "eligible",
    "signposted_to",
)


class ExportCheckError(Exception):
    """The written export breaks the contract or does not reproduce the report."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ExportCheckError(message)


def require_counts(what: str, found: Counter, expected: dict) -> None:
    wanted = Counter({key: count for key, count in expected.items() if count})
    found = +found  # drops zero counts
    if found != wanted:
        keys = sorted({*found, *wanted}, key=str)
        wrong = [
            f"{key!r} {found[key]} not {wanted[key]}" for key in keys if found[key] != wanted[key]
        ]
        raise ExportCheckError(f"{what}: " + ", ".join(wrong))


def read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    raw = path.read_bytes()
    require(not raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: starts with a byte-order mark")
    reader = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""))
    header = next(reader)
    require(tuple(header) == columns, f"{path.name}: header {header}")
    rows = []
    for line_number, row in enumerate(reader, start=2):
        require(len(row) == len(header), f"{path.name} line {line_number}: {len(row)} fields")
        rows.append(dict(zip(header, row, strict=True)))
    return rows


def parse_date(text: str) -> date:
    require(DATE_PATTERN.fullmatch(text) is not None, f"not a DD/MM/YYYY date: {text!r}")
    return datetime.strptime(text, "%d/%m/%Y").date()


def optional_date(text: str) -> date | None:
    return parse_date(text) if text else None


def normalise_label(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    return " ".join(text.split()).casefold()


def canonical_postcode(text: str) -> str:
    compact = text.upper().replace(" ", "")
    return f"{compact[:-3]} {compact[-3:]}" if compact else ""


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def band(value: Decimal | int, bands_from: tuple[tuple[int, str], ...]) -> str:
    return next(label for lower, label in bands_from if value >= lower)


def change_band(change: int, step: int, bands: dict[int, int]) -> int:
    """Round to the nearest step, halves away from zero, clamped to the outermost bands."""
    steps = (Decimal(abs(change)) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    rounded = int(steps) * step * (1 if change >= 0 else -1)
    return min(max(rounded, min(bands)), max(bands))


def check_manifest(manifest: dict, tables: dict[str, list[dict]]) -> None:
    keys = ["service_code", "service_name", "extract_date", "row_counts"]
    require(list(manifest) == keys, f"manifest.json: keys {list(manifest)}")
    require(manifest["service_code"] == SERVICE_CODE, "manifest.json: service_code")
    require(manifest["service_name"] == SERVICE_NAME, "manifest.json: service_name")
    require(manifest["extract_date"] == EXTRACT_DATE.isoformat(), "manifest.json: extract_date")
    row_counts = {name: len(rows) for name, rows in tables.items()}
    require(
        manifest["row_counts"] == row_counts, f"manifest.json: row_counts, files hold {row_counts}"
    )


def check_dates(tables: dict[str, list[dict]]) -> int:
    """Every date parses and none is after the extract date; returns how many lack zeros."""
    unpadded = 0
    for name, rows in tables.items():
        for row in rows:
            for column, text in row.items():
                if not (column.endswith("date") or column == "date_of_birth") or not text:
                    continue
                if text == "Declined" and column == "date_of_birth":
                    continue
                day = parse_date(text)
                require(day <= EXTRACT_DATE, f"{name} {column}: {text} is after the extract")
                unpadded += text != day.strftime("%d/%m/%Y")
    require(unpadded > 0, "no date is written without leading zeros")
    return unpadded


def check_people(clients: dict[str, dict]) -> None:
    """Tables 7.1.1 to 7.1.6, 7.1.9 and the signposting table."""
    rows = clients.values()
    require_counts("gender", Counter(row["gender"] for row in rows), GENDER)
    bands = Counter()
    edge_birthdays = edge_eves = 0
    band_starts = {lower for lower, _ in AGE_BANDS_FROM}
    for row in rows:
        if row["date_of_birth"] in ("", "Declined"):
            bands[row["date_of_birth"] or "Not recorded"] += 1
            continue
        born, registered = parse_date(row["date_of_birth"]), parse_date(row["registration_date"])
        age = age_on(born, registered)
        bands[band(age, AGE_BANDS_FROM)] += 1
        on_birthday = (born.month, born.day) == (registered.month, registered.day)
        tomorrow = registered + timedelta(days=1)
        on_eve = (born.month, born.day) == (tomorrow.month, tomorrow.day)
        edge_birthdays += on_birthday and age in band_starts
        edge_eves += on_eve and age + 1 in band_starts
    require_counts("age band", bands, AGE_BAND)
    require(edge_birthdays >= 2 and edge_eves >= 2, "too few registrations at an age-band edge")
    require_counts("ethnicity", Counter(row["ethnicity"] for row in rows), ETHNICITY)
    require_counts("disability", Counter(row["disability"] for row in rows), DISABILITY)
    require_counts("how heard", Counter(row["how_heard"] for row in rows), HOW_HEARD)
    require_counts("referral", Counter(row["referral_source"] for row in rows), REFERRAL_SOURCE)
    others = Counter(
        row["referral_source_other"] for row in rows if row["referral_source"] == "Other"
    )
    require_counts("referral_source_other", others, REFERRAL_SOURCE_OTHER)
    stray = [
        row for row in rows if row["referral_source"] != "Other" and row["referral_source_other"]
    ]
    require(not stray, "referral_source_other filled in without an Other referral")
    months = Counter(parse_date(row["registration_date"]).month for row in rows)
    years = {parse_date(row["registration_date"]).year for row in rows}
    require(years == {2010}, f"registration years {years}")
    require_counts("month first seen", months, MONTH_FIRST_SEEN)
    require_counts("signposted to", Counter(row["signposted_to"] for row in rows), SIGNPOSTED_TO)


def check_places(clients: dict[str, dict]) -> tuple[int, int]:
    """Tables 7.1.7 and 7.1.8; returns clients in target wards and clients with a ward."""
    quintile_of: dict[str, str] = {}
    districts = Counter()
    irregular = 0
    for row in clients.values():
        postcode = canonical_postcode(row["postcode"])
        district = postcode.split(" ")[0]
        districts[district] += 1
        if not postcode:
            require(not row["ward"] and not row["deprivation_quintile"], "ward without a postcode")
            continue
        require(POSTCODE_PATTERN.fullmatch(postcode) is not None, f"bad postcode {row['postcode']}")
        irregular += row["postcode"] != postcode
        if row["ward"]:
            allowed = WARD_DISTRICTS[row["ward"]]
            require(district in allowed, f"{row['ward']} is not in {district}")
        known = quintile_of.setdefault(postcode, row["deprivation_quintile"])
        require(known == row["deprivation_quintile"], f"{postcode}: two deprivation quintiles")
    require(irregular > 0, "every postcode is in canonical form")
    require(len(quintile_of) < sum(districts.values()) - districts[""], "no postcode is shared")
    require_counts("postcode district", districts, POSTCODE_DISTRICT)
    wards = Counter(row["ward"] for row in clients.values())
    require_counts("ward", wards, WARD)
    quintiles = Counter(row["deprivation_quintile"] for row in clients.values())
    require_counts("deprivation quintile", quintiles, DEPRIVATION_QUINTILE)
    unknown = Counter(
        bool(row["postcode"]) for row in clients.values() if not row["deprivation_quintile"]
    )
    require(unknown == Counter({True: 1, False: 1}), "unknown quintiles: want one with a postcode")
    return sum(wards[ward] for ward in TARGET_WARDS), sum(wards.values()) - wards[""]


def check_assessment(clients: dict[str, dict]) -> None:
    """Tables 7.1.10 and 7.1.11."""
    rows = clients.values()
    require_counts("eligibility", Counter(row["eligible"] for row in rows), ELIGIBLE)
    eligible = [row for row in rows if row["eligible"] == "Yes"]
    for row in rows:
        registered = parse_date(row["registration_date"])
        assessed = optional_date(row["initial_assessment_date"])
        require((assessed is not None) == (row["eligible"] == "Yes"), "assessment date vs eligible")
        require(assessed is None or assessed >= registered, "assessed before registration")
        if row["eligible"] != "Yes":
            require(not row["primary_health_issue"] and not row["bmi"], "issue/BMI, not eligible")
    issues = Counter(row["primary_health_issue"] for row in eligible)
    require_counts("primary health issue", issues, PRIMARY_HEALTH_ISSUE)
    bmi_bands = Counter()
    for row in eligible:
        if not row["bmi"]:
            bmi_bands["Not recorded"] += 1
            continue
        require(BMI_PATTERN.fullmatch(row["bmi"]) is not None, f"BMI {row['bmi']!r}")
        value = Decimal(row["bmi"])
        require(12 <= value <= 90, f"BMI {value} out of range")
        bmi_bands[band(value, BMI_BANDS_FROM)] += 1
    require_counts("BMI band", bmi_bands, BMI_BAND)
    edges = {"20.0", "25.0", "30.0", "35.0", "40.0"}
    require(edges <= {row["bmi"] for row in eligible}, "BMI band edges missing")


def check_goals(clients: dict[str, dict], goals: list[dict]) -> dict[str, list[dict]]:
    """Tables 7.1.12 and 7.1.13; returns each client's goals."""
    code_list = {normalise_label(label) for label in GOAL_CODE_LIST}
    report_spellings = set(GOAL)
    goals_of: dict[str, list[dict]] = defaultdict(list)
    for goal in goals:
        require(goal["client_id"] in clients, f"{goal['goal_id']}: unknown client")
        client = clients[goal["client_id"]]
        require(client["eligible"] == "Yes", f"{goal['goal_id']}: client not eligible")
        set_on = parse_date(goal["goal_set_date"])
        require(set_on >= parse_date(client["initial_assessment_date"]), "goal before assessment")
        require(normalise_label(goal["goal"]) in code_list, f"goal label {goal['goal']!r}")
        require(goal["goal"] in report_spellings, f"goal not spelt as the report: {goal['goal']!r}")
        require(bool(goal["outcome"]) == bool(goal["outcome_date"]), "outcome without a date")
        if goal["outcome_date"]:
            require(parse_date(goal["outcome_date"]) > set_on, "outcome before the goal was set")
        goals_of[goal["client_id"]].append(goal)
    require(len({goal["goal_id"] for goal in goals}) == len(goals), "duplicate goal_id")
    for client_goals in goals_of.values():
        labels = [normalise_label(goal["goal"]) for goal in client_goals]
        require(len(set(labels)) == len(labels), "a client has the same goal twice")
    require(any("\u2013" in goal["goal"] for goal in goals), "no en-dash in any goal label")
    labels = Counter(normalise_label(goal["goal"]) for goal in goals)
    require_counts("goal", labels, {normalise_label(label): n for label, n in GOAL.items()})
    types = Counter(normalise_label(goal["goal"]).split("-")[0].strip() for goal in goals)
    require_counts("goal type", types, {kind.casefold(): n for kind, n in GOAL_TYPE.items()})
    per_client = Counter(len(goals_of.get(client_id, [])) for client_id in clients)
    require_counts("goals per client", per_client, GOALS_PER_CLIENT)
    require_counts("goal outcome", Counter(goal["outcome"] for goal in goals), GOAL_OUTCOME)
    return goals_of


def check_scores(
    clients: dict[str, dict], goals_of: dict[str, list[dict]], scores: list[dict]
) -> Counter:
    """Tables 7.1.14 to 7.1.16 (printed as 7.1.18); returns clients scored per instrument."""
    pairs: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    for row in scores:
        require(row["instrument"] in CHANGE_RULES, f"instrument {row['instrument']!r}")
        require(row["client_id"] in goals_of, f"{row['client_id']}: scores but no goals")
        stages = pairs[row["client_id"], row["instrument"]]
        require(row["stage"] in ("baseline", "follow_up"), f"stage {row['stage']!r}")
        require(row["stage"] not in stages, f"{row['client_id']}: two {row['stage']} scores")
        stages[row["stage"]] = row
    changes: dict[str, Counter] = defaultdict(Counter)
    half_steps = 0
    for (client_id, instrument), stages in pairs.items():
        require(set(stages) == {"baseline", "follow_up"}, f"{client_id} {instrument}: unpaired")
        highest, percent_per_point, step, bands = CHANGE_RULES[instrument]
        baseline, follow_up = (int(stages[stage]["score"]) for stage in ("baseline", "follow_up"))
        require(
            min(baseline, follow_up) >= 0 and max(baseline, follow_up) <= highest, "score range"
        )
        assessed = parse_date(clients[client_id]["initial_assessment_date"])
        began, ended = (parse_date(stages[s]["recorded_date"]) for s in ("baseline", "follow_up"))
        require(began == assessed, f"{client_id}: baseline not at the initial assessment")
        require(ended > began, f"{client_id}: follow-up not after baseline")
        require(any(goal["outcome"] for goal in goals_of[client_id]), "follow-up, no outcomes")
        change = (follow_up - baseline) * percent_per_point
        half_steps += change % step * 2 == step
        changes[instrument][change_band(change, step, bands)] += 1
    for instrument, (_, _, _, bands) in CHANGE_RULES.items():
        require_counts(f"{instrument} change", changes[instrument], bands)
    require(half_steps >= 3, "too few changes on a half step")
    return Counter({instrument: sum(bands.values()) for instrument, bands in changes.items()})


def check_trainers(clients: dict[str, dict], trainers: list[dict]) -> Decimal:
    """Health trainers in post and their clients; returns the total WTE."""
    by_id = {row["health_trainer_id"]: row for row in trainers}
    require(len(by_id) == len(trainers) == TRAINER_COUNT, "health trainers: count or duplicates")
    roles = {"Health Trainer", "Trainee Health Trainer"}
    require(all(row["role"] in roles for row in trainers), "health trainers: role")
    require(all(not row["end_date"] for row in trainers), "health trainers: someone has left")
    require_counts(
        "locality", Counter(row["locality"] for row in trainers), {"North": 3, "South": 3}
    )
    wte = [Decimal(row["wte"]) for row in trainers]
    require(all(0 < value <= 1 for value in wte), "health trainers: wte outside (0, 1]")
    require(sum(wte) == TOTAL_WTE, f"total WTE {sum(wte)}")
    seen_by: dict[str, list[dict]] = defaultdict(list)
    for client in clients.values():
        require(client["health_trainer_id"] in by_id, f"{client['client_id']}: unknown trainer")
        seen_by[client["health_trainer_id"]].append(client)
    for trainer_id, trainer in by_id.items():
        caseload = seen_by[trainer_id]
        first_seen = min(parse_date(client["registration_date"]) for client in caseload)
        require(
            parse_date(trainer["start_date"]) < first_seen, f"{trainer_id}: client before start"
        )
        districts = [canonical_postcode(client["postcode"]).split(" ")[0] for client in caseload]
        if trainer["locality"] == "North":
            local = sum(district in NORTH_TRAINER_DISTRICTS for district in districts)
        else:
            local = sum(district.startswith("SW") for district in districts)
        require(local >= 0.6 * len(caseload), f"{trainer_id}: caseload mostly outside locality")
    return sum(wte)


def check_capture(clients: dict[str, dict], goals: list[dict]) -> None:
    """Data capture: exactly the four fields measures.md names fall below 95%."""
    eligible = [row for row in clients.values() if row["eligible"] == "Yes"]
    populations = [(field, list(clients.values())) for field in CAPTURE_FIELDS]
    other = [row for row in clients.values() if row["referral_source"] == "Other"]
    populations.append(("referral_source_other", other))
    fields = ("initial_assessment_date", "primary_health_issue", "bmi")
    populations.extend((field, eligible) for field in fields)
    populations.append(("goal_set_date", goals))
    below = {}
    for field, rows in populations:
        captured = sum(bool(row[field]) for row in rows)
        percent = (Decimal(100 * captured) / len(rows)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        if percent < CAPTURE_THRESHOLD:
            below[field] = percent
    require(below == CAPTURE_BELOW_THRESHOLD, f"fields captured below 95%: {below}")


def check_export(out_dir: Path) -> list[str]:
    """Check the export in `out_dir`; returns a short tally, raises ExportCheckError."""
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    tables = {name: read_csv(out_dir / name, columns) for name, columns in COLUMNS.items()}
    check_manifest(manifest, tables)
    clients = {row["client_id"]: row for row in tables["clients.csv"]}
    require(len(clients) == len(tables["clients.csv"]), "clients.csv: duplicate client_id")
    require(all(re.fullmatch(r"KC\d{6}", client_id) for client_id in clients), "client_id form")
    unpadded = check_dates(tables)
    check_people(clients)
    in_target, with_ward = check_places(clients)
    check_assessment(clients)
    goals_of = check_goals(clients, tables["goals.csv"])
    scored = check_scores(clients, goals_of, tables["wellbeing_scores.csv"])
    wte = check_trainers(clients, tables["health_trainers.csv"])
    check_capture(clients, tables["goals.csv"])

    gender = Counter(row["gender"] for row in clients.values())
    eligible = sum(row["eligible"] == "Yes" for row in clients.values())
    goals, scores = tables["goals.csv"], tables["wellbeing_scores.csv"]
    with_outcome = sum(bool(goal["outcome"]) for goal in goals)
    per_instrument = ", ".join(f"{name} {count}" for name, count in scored.items())
    registered = sorted(parse_date(row["registration_date"]) for row in clients.values())
    return [
        f"Checked {out_dir}: every section 7.1 table matches.",
        f"  clients {len(clients)} (Female {gender['Female']}, Male {gender['Male']}),"
        f" eligible {eligible}, with a PHP {len(goals_of)}",
        f"  goals {len(goals)} ({with_outcome} with an outcome);"
        f" wellbeing scores {len(scores)} (clients: {per_instrument})",
        f"  health trainers {len(tables['health_trainers.csv'])}, {wte} WTE;"
        f" registrations {registered[0]:%B} to {registered[-1]:%B %Y}",
        f"  clients in target wards {in_target}/{with_ward};"
        f" dates without leading zeros {unpadded}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="export folder to write")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check-only", action="store_true", help="check the folder, write nothing")
    mode.add_argument("--no-check", action="store_true", help="write without checking")
    args = parser.parse_args(argv)
    if not args.check_only:
        write_export(args.out)
        print(f"Wrote {args.out}")
    if args.no_check:
        return 0
    try:
        tally = check_export(args.out)
    except (ExportCheckError, OSError, ValueError, KeyError) as error:
        print(f"Check failed: {error}", file=sys.stderr)
        return 1
    print("\n".join(tally))
    return 0


if __name__ == "__main__":
    sys.exit(main())
