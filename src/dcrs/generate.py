"""Synthetic DCRS exports at any scale, for load tests and benchmarks.

``generate`` writes, for each of ``services`` synthetic services, ``months`` cumulative
monthly exports that follow the export contract (``shared/spec/dcrs-export.md``): each
export holds every client registered up to its extract date (the last day of its month),
with each record as it stood on that day. Every row is made by DuckDB SQL and written with
``COPY ... TO``; Python only loops over services and months.

How the data is made (each value is a pure function of the seed, the service and the
client, goal or trainer number, through ``hash()``, so a seed always gives the same bytes):

- Clients are numbered per service; client ``i`` of ``n`` registers in month
  ``i * months // n``, on a day of that month. Demographics, postcode (with the outward
  code of its ward's district, in varied case and spacing), ward, deprivation quintile,
  how heard and referral source follow weights loosely like the bundled sample and the
  England figures in ``seeds/benchmarks.csv``.
- 98% of clients are assessed within days of registration (within their first month);
  about 96% of those are eligible. Primary health issue and BMI are recorded only for
  eligible clients; signposting only for assessed ones.
- Eligible clients get 0 to 13 goals (mean about 2.7; about 2.5 per client overall), set
  on or after the assessment and by the end of the registration month. Whether a goal has
  an outcome in its first export depends on its age then (older goals more often).
- Clients with goals may have wellbeing scores: for each instrument, a baseline (at the
  assessment) and a follow-up (a session on or after it, in the same month), always as a
  pair. Assessment, goals and scores all fall in the registration month, so a one-month
  export already has the full volumes (about 2.5 goals and 2 score rows per client).
- One trainer per about 40 clients; trainers join over the months, so a client's trainer
  has always started by the registration date. A few leave (an end date appears once it
  has passed).
- Later exports change a few records, as the DCRS does: 12% of the goals still without an
  outcome at the end of their first month gain one in one of the next three months (about
  3% of all goals change from one month to the next), and 4% of clients have their
  ethnicity or disability corrected one to three months after registration.

Every value is valid: a generated export loads with no rejected rows and no value counted
as Invalid.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import duckdb

from dcrs.export_contract import CLIENT_COLUMNS, EXPORT_FILES, MANIFEST_FILE

EN_DASH = "\u2013"

# ------------------------------------------------------------------------------------------
# Weights (relative; None is a blank field). Labels are the contract's code lists.
# ------------------------------------------------------------------------------------------

GENDER = {"Female": 70, "Male": 28, "Other": 0.5, "Not stated": 1, None: 0.5}

# date_of_birth: 'Declined', blank, or an age band (lowest and highest age in years)
DATE_OF_BIRTH = {"Declined": 5, None: 1, "recorded": 94}
AGE_BANDS = {  # England's distribution (seeds/benchmarks.csv), ages at registration
    (16, 17): 1.5,
    (18, 25): 9.4,
    (26, 35): 15.7,
    (36, 45): 19.5,
    (46, 55): 18.3,
    (56, 65): 15.1,
    (66, 92): 12.3,
}

ETHNICITY = {
    "White - British": 33,
    "White - Irish": 3,
    "Other White Background": 12,
    "Mixed - White and Black Caribbean": 2,
    "Mixed - White and Black African": 1,
    "Mixed - White and Asian": 1,
    "Mixed - Any Other Mixed Background": 2,
    "Asian or Asian British - Indian": 3,
    "Asian or Asian British - Pakistani": 2,
    "Asian or Asian British - Bangladeshi": 2,
    "Any Other Asian Background": 2,
    "Black or Black British - Caribbean": 9,
    "Black or Black British - African": 16,
    "Any Other Black Background": 5,
    "Chinese": 1.5,
    "Any Other Ethnic Group": 4,
    "Not Stated": 2,
    None: 0.5,
}
ETHNICITY_RECORDED = {label: weight for label, weight in ETHNICITY.items() if label}

DISABILITY = {"Disabled": 18, "Not disabled": 57, None: 25}

# (ward, postcode district, postcode sector digit, deprivation quintile or None): weight.
# As in the bundled sample: each ward sits in a district it spans; one location is a
# postcode the DCRS did not recognise (no ward, no quintile), one has no postcode at all.
LOCATIONS = {
    ("Golborne", "W10", "5", "1"): 20,
    ("St Charles", "W10", "6", "1"): 17,
    ("Notting Barns", "W10", "6", "1"): 6,
    ("Notting Barns", "W11", "1", "1"): 6,
    ("Colville", "W10", "5", "1"): 2,
    ("Colville", "W11", "1", "1"): 6,
    ("College Park and Old Oak", "W10", "4", "1"): 1,
    ("Shepherd's Bush Green", "W12", "8", "1"): 2,
    ("Norland", "W11", "4", "2"): 7,
    ("Pembridge", "W11", "2", "2"): 2,
    ("Pembridge", "W2", "4", "2"): 1,
    ("Holland", "W11", "3", "2"): 1,
    ("Holland", "W14", "8", "2"): 2,
    ("Holland", "W14", "8", "3"): 1,
    ("Holland", "W8", "7", "3"): 1,
    ("Abingdon", "W8", "6", "3"): 1,
    ("Abingdon", "W14", "8", "3"): 1,
    ("Hyde Park", "W2", "2", "3"): 1,
    ("Campden", "W8", "4", "4"): 1,
    ("Earl's Court", "SW5", "9", "1"): 3,
    ("Earl's Court", "SW5", "9", "2"): 6,
    ("Redcliffe", "SW5", "0", "2"): 4,
    ("Redcliffe", "SW10", "9", "2"): 1,
    ("Courtfield", "SW5", "0", "3"): 1,
    ("Courtfield", "SW5", "0", "4"): 1,
    ("Courtfield", "SW7", "4", "4"): 1,
    ("Cremorne", "SW10", "0", "1"): 6,
    ("Cremorne", "SW10", "0", "2"): 2,
    ("Stanley", "SW10", "0", "2"): 2,
    ("Parsons Green and Walham", "SW6", "4", "2"): 1,
    ("Royal Hospital", "SW3", "4", "3"): 2,
    ("Hans Town", "SW3", "2", "4"): 1,
    ("Hans Town", "SW1X", "0", "4"): 1,
    ("Brompton", "SW3", "3", "4"): 1,
    ("Queen's Gate", "SW7", "5", "4"): 2,
    ("Queen's Gate", "SW7", "5", "5"): 1,
    (None, "W10", "9", None): 1.5,
    (None, None, None, None): 1,
}
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters of the inward code of a UK postcode
# How the postcode is spelt: 'W10 5XX' mostly, as the contract allows otherwise
POSTCODE_STYLES = {"upper": 85, "lower": 6, "upper_no_space": 5, "lower_no_space": 4}

HOW_HEARD = {
    "Activity": 0.5,
    "At work": 1,
    "By being referred": 20,
    "Community services": 12,
    "Local media": 2,
    "Other care services": 2,
    "Poster / leaflet": 10,
    "Promotional event": 18,
    "Website": 1,
    "Word of mouth": 25,
    "N/A": 0.5,
    "Other": 4,
    None: 1,
}
REFERRAL_SOURCE = {
    "Advice and Guidance": 0.5,
    "Community / voluntary services": 18,
    "Emotional wellbeing services": 0.5,
    "GP or other primary care services": 15,
    "Health Trainer services": 4,
    "Hospital services": 1.5,
    "Lifestyle Risk Management services": 3,
    "Local authority services": 2.5,
    "Other": 4,
    "Prison": 0.2,
    "Probation": 0.3,
    "Self": 49,
    None: 1.5,
}
# free text for referral_source 'Other' (commas and quotes exercise RFC 4180 quoting)
REFERRAL_SOURCE_OTHER = {
    "Health Checks Team": 4,
    "Westway Development Trust - other team": 3,
    "Wayfinders (Age Concern)": 2,
    "Housing, Community Safety team": 1,
    'Pharmacy "Stop Smoking" clinic': 1,
    None: 1,
}

ASSESSED_SHARE = 0.98
ASSESSMENT_LAG_DAYS = {0: 30, 1: 15, 2: 10, 3: 10, 5: 10, 7: 10, 10: 8, 14: 7}
ELIGIBLE = {"Yes": 96, "No": 4}
PRIMARY_HEALTH_ISSUE = {
    "Diet": 52,
    "Exercise": 30,
    "Smoking": 7,
    "Emotional wellbeing": 5,
    "Alcohol": 2,
    None: 4,
}
BMI_RECORDED_SHARE = 0.85
BMI_MEAN, BMI_SD, BMI_MIN, BMI_MAX = 28.5, 6.0, 15.0, 60.0
SIGNPOSTED_TO = {  # assessed clients; blank: not yet done
    "Not required": 40,
    None: 45,
    "GP or other primary care services": 4,
    "Community / voluntary services": 3,
    "Emotional wellbeing services": 2,
    "Lifestyle Risk Management services": 2,
    "Local authority services": 2,
    "Health Trainer services": 1,
    "Advice and Guidance": 0.5,
    "Hospital services": 0.5,
}

# goals per eligible client
GOAL_COUNT = {
    0: 12,
    1: 20,
    2: 23,
    3: 18,
    4: 11,
    5: 6.5,
    6: 4,
    7: 2.5,
    8: 1.4,
    9: 0.8,
    10: 0.4,
    11: 0.2,
    12: 0.1,
    13: 0.1,
}
GOAL = {
    "Alcohol - Reduce": 3,
    "Diet - Change": 7,
    "Diet - Increase - Fruit/veg intake": 10,
    "Diet - Increase - Healthy snacks": 2,
    "Diet - Increase - Intake of water": 4,
    "Diet - Reduce - Fatty food intake": 4,
    "Diet - Reduce - Fizzy drink intake": 2,
    "Diet - Reduce - Fried food intake": 3,
    "Diet - Reduce - Portion size": 5,
    "Diet - Reduce - Tea/coffee intake": 1,
    "Diet - Reduce - Unhealthy snacks": 5,
    "Exercise - Increase - Light": 8,
    "Exercise - Increase - Moderate": 18,
    "Exercise - Increase - Vigorous": 9,
    "Other": 12,
    "Smoking - Reduce": 3,
    "Smoking - Stop": 2,
}
GOAL_EN_DASH_SHARE = 0.15  # 'Diet – Reduce - ...', as exports print some labels
UNPADDED_DATE_SHARE = 0.03  # goal dates written D/M/YYYY
GOAL_SPREAD_DAYS = 21  # goals are set within this many days of the assessment
OUTCOME = {"Achieved": 55, "Part Achieved": 28, "Not Achieved": 17}
LATE_OUTCOME_SHARE = 0.12  # of goals with no outcome in their first export
CORRECTED_CLIENT_SHARE = 0.04

SCORED_CLIENT_SHARE = 0.55  # of clients with goals
INSTRUMENT_SHARE = 0.72  # of scored clients, per instrument
# instrument: (baseline mean, baseline sd, change mean, change sd, scale maximum)
INSTRUMENTS = {
    "self_efficacy": (55, 18, 6, 12, 100),
    "general_health": (45, 20, 18, 18, 100),
    "who5": (11, 5, 3, 4, 25),
}

CLIENTS_PER_TRAINER = 40
TRAINER_ROLE = {"Health Trainer": 45, "Trainee Health Trainer": 55}
TRAINER_LOCALITY = {"North": 30, "South": 30, "East": 15, "West": 15, "Central": 10}
TRAINER_WTE = {"1.0": 55, "0.8": 20, "0.6": 10, "0.5": 10, "0.4": 5}
TRAINER_LEAVER_SHARE = 0.08

COLUMNS = {export_file.file_name: export_file.columns for export_file in EXPORT_FILES}


# ------------------------------------------------------------------------------------------
# SQL helpers: constant CASE expressions built from the weights above
# ------------------------------------------------------------------------------------------


def _text(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = float(sum(weights))
    running, bounds = 0.0, []
    for weight in weights:
        running += weight
        bounds.append(running / total)
    return bounds


def _choice(uniform: str, weights: Mapping[object, float], render=_text) -> str:
    """A CASE expression picking one key of ``weights`` for a uniform value in [0, 1)."""
    keys = list(weights)
    bounds = _cumulative(list(weights.values()))
    branches = " ".join(
        f"when {uniform} < {bound!r} then {render(key)}"
        for key, bound in zip(keys[:-1], bounds[:-1], strict=True)
    )
    return f"case {branches} else {render(keys[-1])} end"


def _index(uniform: str, weights: Sequence[float]) -> str:
    """A CASE expression giving a 1-based index into ``weights``."""
    return _choice(uniform, dict(enumerate(weights, start=1)), render=str)


def _list(values: Sequence[str | None]) -> str:
    return "[" + ", ".join(_text(value) for value in values) + "]"


def _uk_date(expression: str) -> str:
    return f"strftime({expression}, '%d/%m/%Y')"


def _month_start(first_month: date, month_expression: str) -> str:
    return f"(date '{first_month.isoformat()}' + to_months(({month_expression})::integer))::date"


# ------------------------------------------------------------------------------------------
# The universe of one service: every client, goal, score and trainer over all months
# ------------------------------------------------------------------------------------------


def _define_macros(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    # uni(s, i, j, f): a uniform value in [0, 1) from the seed, the service s, the unit
    # (i, j) and the field name f. hash() of several values alone mixes them too weakly
    # (fields of one row came out correlated); hashing its result again does not.
    # norm(): a standard normal value (Box-Muller).
    con.execute(
        f"""
        create or replace temp macro uni(s, i, j, f) as
            (hash(hash({int(seed)}::bigint, s::bigint, i::bigint, j::bigint, f::varchar)) >> 11)
            ::double / 9007199254740992.0
        """
    )
    con.execute(
        """
        create or replace temp macro norm(s, i, j, f) as
            sqrt(-2 * ln(1 - uni(s, i, j, f || ':a'))) * cos(2 * pi() * uni(s, i, j, f || ':b'))
        """
    )


def _build_clients(
    con: duckdb.DuckDBPyConnection,
    service: int,
    code: str,
    clients: int,
    months: int,
    start: date,
    trainers: int,
) -> None:
    s = service
    first_month = start.replace(day=1)
    id_width = max(7, len(str(clients)))
    trainer_width = max(3, len(str(trainers)))

    def u(field: str, j: str = "0") -> str:
        return f"uni({s}, i, {j}, '{field}')"

    locations = list(LOCATIONS)
    location_index = _index(u("location"), list(LOCATIONS.values()))
    age_index = _index(u("age band"), list(AGE_BANDS.values()))
    ages_low = "[" + ", ".join(str(low) for low, _ in AGE_BANDS) + "]"
    ages_high = "[" + ", ".join(str(high) for _, high in AGE_BANDS) + "]"
    inward_letter = f"'{UNIT_LETTERS}'"
    letters = len(UNIT_LETTERS)
    lag_days = _choice(u("assessment lag"), ASSESSMENT_LAG_DAYS, render=str)
    goal_count = _choice(u("goal count"), GOAL_COUNT, render=str)
    bmi = (
        f"round(least({BMI_MAX}, greatest({BMI_MIN}, "
        f"{BMI_MEAN} + {BMI_SD} * norm({s}, i, 0, 'bmi'))), 1)::decimal(4, 1)::varchar"
    )
    con.execute(
        f"""
        create or replace temp table u_clients as
        with numbered as (
            select
                i,
                (i * {months}) // {clients} as reg_month
            from range({clients}) as numbers (i)
        ),
        dated as (
            select
                *,
                {_month_start(first_month, "reg_month")} as month_start,
                greatest(month_start, date '{start.isoformat()}') as first_day,
                last_day(month_start) as month_end,
                first_day + floor({u("registration day")} * (month_end - first_day + 1))::integer
                    as registration_date,
                {u("assessed")} < {ASSESSED_SHARE} as is_assessed,
                least(registration_date + {lag_days}, month_end) as assessed_on,
                is_assessed and {u("eligible")} < {ELIGIBLE["Yes"] / sum(ELIGIBLE.values())}
                    as is_eligible,
                {location_index} as location,
                {age_index} as age_band,
                {ages_low}[age_band]
                    + floor({u("age")} * ({ages_high}[age_band] - {ages_low}[age_band] + 1))
                    ::integer as age,
                (registration_date - to_years(age)
                    - to_days(floor({u("birthday")} * 360)::integer))::date as born,
                -- ceil((reg_month + 1) * trainers / months) trainers have started by then
                floor({u("trainer")} * (((reg_month + 1) * {trainers} + {months} - 1)
                    // {months}))::integer + 1 as trainer,
                {u("correction")} < {CORRECTED_CLIENT_SHARE} as is_corrected
            from numbered
        )
        select
            i,
            reg_month,
            '{code}C' || lpad((i + 1)::varchar, {id_width}, '0') as client_id,
            '{code}HT' || lpad(trainer::varchar, {trainer_width}, '0') as health_trainer_id,
            {_uk_date("registration_date")} as registration_date,
            {_choice(u("gender"), GENDER)} as gender,
            {_choice(u("date of birth"), DATE_OF_BIRTH)} as date_of_birth_kind,
            -- never 29 February: the whole-years age of such a birthday differs by method
            if(date_of_birth_kind = 'recorded',
                {_uk_date("if(month(born) = 2 and day(born) = 29, born - 1, born)")},
                date_of_birth_kind) as date_of_birth,
            {_choice(u("ethnicity"), ETHNICITY)} as ethnicity,
            {_choice(u("disability"), DISABILITY)} as disability,
            case when {_list([loc[2] for loc in locations])}[location] is not null then
                {_list([loc[1] for loc in locations])}[location] || ' '
                || {_list([loc[2] for loc in locations])}[location]
                || {inward_letter}[1 + floor({u("unit 1")} * {letters})::integer]
                || {inward_letter}[1 + floor({u("unit 2")} * {letters})::integer]
            end as postcode_upper,
            {_choice(u("postcode style"), POSTCODE_STYLES)} as postcode_style,
            case postcode_style
                when 'upper' then postcode_upper
                when 'lower' then lower(postcode_upper)
                when 'upper_no_space' then replace(postcode_upper, ' ', '')
                else lower(replace(postcode_upper, ' ', ''))
            end as postcode,
            {_list([loc[0] for loc in locations])}[location] as ward,
            {_list([loc[3] for loc in locations])}[location] as deprivation_quintile,
            {_choice(u("how heard"), HOW_HEARD)} as how_heard,
            {_choice(u("referral source"), REFERRAL_SOURCE)} as referral_source,
            case when referral_source = 'Other'
                then {_choice(u("referral other"), REFERRAL_SOURCE_OTHER)}
            end as referral_source_other,
            case when is_assessed then if(is_eligible, 'Yes', 'No') end as eligible,
            case when is_assessed then {_uk_date("assessed_on")} end
                as initial_assessment_date,
            case when is_eligible then {_choice(u("primary issue"), PRIMARY_HEALTH_ISSUE)} end
                as primary_health_issue,
            case when is_eligible and {u("bmi recorded")} < {BMI_RECORDED_SHARE} then {bmi} end
                as bmi,
            case when is_assessed then {_choice(u("signposted"), SIGNPOSTED_TO)} end
                as signposted_to,
            -- what later exports correct: ethnicity or disability, 1 to 3 months on
            case when is_corrected then reg_month + 1 + floor({u("fix month")} * 3)::integer
                end as fix_month,
            case when is_corrected then if({u("fix kind")} < 0.5, 'ethnicity', 'disability')
                end as fix_kind,
            {_choice(u("ethnicity fix"), ETHNICITY_RECORDED)} as ethnicity_drawn,
            case
                when ethnicity_drawn is distinct from ethnicity then ethnicity_drawn
                when ethnicity = 'White - British' then 'Other White Background'
                else 'White - British'
            end as ethnicity_fixed,
            case disability
                when 'Disabled' then 'Not disabled'
                when 'Not disabled' then 'Disabled'
                else if({u("disability fix")} < 0.25, 'Disabled', 'Not disabled')
            end as disability_fixed,
            -- for goals and scores
            assessed_on,
            month_end,
            case when is_eligible then {goal_count} else 0 end as goal_count,
            {u("scored")} < {SCORED_CLIENT_SHARE} as is_scored
        from dated
        """
    )


def _build_goals(con: duckdb.DuckDBPyConnection, service: int) -> None:
    s = service

    def u(field: str) -> str:
        return f"uni({s}, i, j, '{field}')"

    outcome_share = (
        # older goals are more likely to have an outcome: 10% on the day, 80% at 4 weeks
        "0.1 + 0.7 * least(age_days, 28) / 28.0"
    )
    con.execute(
        f"""
        create or replace temp table u_goals as
        with goals as (
            select
                i,
                reg_month,
                client_id,
                assessed_on,
                month_end,
                unnest(range(goal_count)) as j
            from u_clients
            where goal_count > 0
        ),
        dated as (
            select
                *,
                assessed_on + floor({u("set day")}
                    * (least(assessed_on + {GOAL_SPREAD_DAYS}, month_end) - assessed_on + 1)
                )::integer as set_on,
                month_end - set_on as age_days,
                age_days > 0 and {u("outcome")} < {outcome_share} as has_outcome,
                set_on + 1 + floor({u("outcome day")} * age_days)::integer as outcome_on,
                not has_outcome and {u("late outcome")} < {LATE_OUTCOME_SHARE} as has_late,
                reg_month + 1 + floor({u("late month")} * 3)::integer as late_month,
                {u("unpadded")} < {UNPADDED_DATE_SHARE} as unpadded
            from goals
        )
        select
            i,
            j,
            reg_month,
            client_id || '-' || (j + 1)::varchar as goal_id,
            client_id,
            if(unpadded, strftime(set_on, '%-d/%-m/%Y'), {_uk_date("set_on")}) as goal_set_date,
            {_choice(u("goal"), GOAL)} as goal_label,
            case
                when {u("dash")} < {GOAL_EN_DASH_SHARE}
                    then regexp_replace(goal_label, ' - ', ' {EN_DASH} ')
                else goal_label
            end as goal,
            case when has_outcome then {_choice(u("outcome label"), OUTCOME)} end as outcome,
            case when has_outcome then {_uk_date("outcome_on")} end as outcome_date,
            case when has_late then late_month end as late_month,
            case when has_late then {_choice(u("late outcome label"), OUTCOME)} end
                as late_outcome,
            case when has_late then {
            _uk_date(
                f"(month_end + 1 + to_months(late_month - reg_month - 1))::date"
                f" + floor({u('late day')} * 28)::integer"
            )
        } end as late_outcome_date
        from dated
        """
    )


def _build_scores(con: duckdb.DuckDBPyConnection, service: int) -> None:
    s = service
    names = list(INSTRUMENTS)
    params = list(INSTRUMENTS.values())

    def pick(position: int) -> str:
        return "[" + ", ".join(str(values[position]) for values in params) + "]"

    con.execute(
        f"""
        create or replace temp table u_scores as
        with scored as (
            select
                i,
                reg_month,
                client_id,
                assessed_on,
                assessed_on + floor(sqrt(uni({s}, i, 0, 'follow-up day'))
                    * (month_end - assessed_on + 1))::integer as followed_up_on,
                unnest([1, 2, 3]) as k
            from u_clients
            where goal_count > 0 and is_scored
        ),
        valued as (
            select
                *,
                {pick(4)}[k] as scale_max,
                least(scale_max, greatest(0, round({pick(0)}[k]
                    + {pick(1)}[k] * norm({s}, i, k, 'baseline'))))::integer as baseline,
                least(scale_max, greatest(0, baseline + round({pick(2)}[k]
                    + {pick(3)}[k] * norm({s}, i, k, 'change'))))::integer as follow_up
            from scored
            where uni({s}, i, k, 'instrument') < {INSTRUMENT_SHARE}
        ),
        staged as (
            select *, unnest([1, 2]) as stage_order from valued
        )
        select
            i,
            k,
            stage_order,
            reg_month,
            client_id,
            {_list(names)}[k] as instrument,
            if(stage_order = 1, 'baseline', 'follow_up') as stage,
            if(stage_order = 1, baseline, follow_up)::varchar as score,
            {_uk_date("if(stage_order = 1, assessed_on, followed_up_on)")} as recorded_date
        from staged
        """
    )


def _build_trainers(
    con: duckdb.DuckDBPyConnection, service: int, code: str, trainers: int, months: int, start
) -> None:
    s = service
    first_month = start.replace(day=1)
    width = max(3, len(str(trainers)))

    def u(field: str) -> str:
        return f"uni({s}, t, 0, '{field}')"

    con.execute(
        f"""
        create or replace temp table u_trainers as
        with numbered as (
            select
                t,
                (t * {months}) // {trainers} as start_month,
                {u("leaves")} < {TRAINER_LEAVER_SHARE} as leaves,
                start_month + 2 + floor({u("end month")} * 6)::integer as end_month
            from range({trainers}) as numbers (t)
        )
        select
            t,
            start_month,
            '{code}HT' || lpad((t + 1)::varchar, {width}, '0') as health_trainer_id,
            {_choice(u("role"), TRAINER_ROLE)} as role,
            {_choice(u("locality"), TRAINER_LOCALITY)} as locality,
            {_choice(u("wte"), TRAINER_WTE)} as wte,
            {_uk_date(_month_start(first_month, "start_month"))} as start_date,
            case when leaves then end_month end as end_month,
            case when leaves then {
            _uk_date(
                f"{_month_start(first_month, 'end_month')} + floor({u('end day')} * 28)::integer"
            )
        } end as end_date
        from numbered
        """
    )


# ------------------------------------------------------------------------------------------
# One export: the universe as it stood at the end of month e
# ------------------------------------------------------------------------------------------


def _export_queries(month: int) -> dict[str, str]:
    e = month
    client_columns = ",\n    ".join(
        {
            "ethnicity": (
                f"case when fix_kind = 'ethnicity' and fix_month <= {e} "
                "then ethnicity_fixed else ethnicity end as ethnicity"
            ),
            "disability": (
                f"case when fix_kind = 'disability' and fix_month <= {e} "
                "then disability_fixed else disability end as disability"
            ),
        }.get(column, column)
        for column in CLIENT_COLUMNS
    )
    return {
        "clients.csv": (f"select\n    {client_columns}\nfrom u_clients where reg_month <= {e} "),
        "goals.csv": f"""
            select
                goal_id,
                client_id,
                goal_set_date,
                goal,
                coalesce(outcome, case when late_month <= {e} then late_outcome end)
                    as outcome,
                coalesce(outcome_date, case when late_month <= {e} then late_outcome_date end)
                    as outcome_date
            from u_goals
            where reg_month <= {e}
        """,
        "wellbeing_scores.csv": f"""
            select client_id, instrument, stage, score, recorded_date
            from u_scores
            where reg_month <= {e}
        """,
        "health_trainers.csv": f"""
            select
                health_trainer_id,
                role,
                locality,
                wte,
                start_date,
                case when end_month <= {e} then end_date end as end_date
            from u_trainers
            where start_month <= {e}
        """,
    }


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def _month_end(first_month: date, month: int) -> date:
    year, month_index = divmod(first_month.month - 1 + month, 12)
    year += first_month.year
    return date(year, month_index + 1, calendar.monthrange(year, month_index + 1)[1])


def generate(
    out_dir: Path,
    clients: int,
    services: int = 1,
    months: int = 1,
    seed: int = 2010,
    start: date = date(2010, 3, 1),
) -> list[Path]:
    """Write valid synthetic DCRS exports: for each service, `months` cumulative monthly
    exports (out_dir/<SERVICE_CODE>/<extract-date>/{manifest.json, clients.csv, goals.csv,
    wellbeing_scores.csv, health_trainers.csv}), each holding every client registered up
    to its extract date (the last day of each month). Clients are spread over services and
    registration months. Returns the export folders, oldest first."""
    if clients < 1 or services < 1 or months < 1:
        raise ValueError("clients, services and months must each be at least 1")
    if clients < services:
        raise ValueError("need at least one client per service")
    out_dir = Path(out_dir)
    first_month = start.replace(day=1)
    written: list[tuple[date, str, Path]] = []
    with duckdb.connect() as con:
        # Rows are written in the order they are made (client, goal, instrument, stage):
        # DuckDB keeps insertion order through CREATE TABLE AS and COPY when this is on,
        # so no ORDER BY (and no sort) is needed for byte-identical output.
        con.execute("set preserve_insertion_order = true")
        con.execute("set enable_progress_bar = false")
        _define_macros(con, seed)
        for service, service_clients in enumerate(_split(clients, services), start=1):
            code = f"S{service:03d}"
            name = f"Synthetic Health Trainer Service {service}"
            trainers = max(1, round(service_clients / CLIENTS_PER_TRAINER))
            _build_clients(con, service, code, service_clients, months, start, trainers)
            _build_goals(con, service)
            _build_scores(con, service)
            _build_trainers(con, service, code, trainers, months, start)
            for month in range(months):
                extract_date = _month_end(first_month, month)
                folder = out_dir / code / extract_date.isoformat()
                folder.mkdir(parents=True, exist_ok=True)
                row_counts = {}
                for file_name, query in _export_queries(month).items():
                    path = folder / file_name
                    (count,) = con.execute(
                        f"copy ({query}) to {_sql_path(path)} (header, delimiter ',')"
                    ).fetchone()
                    row_counts[file_name] = int(count)
                manifest = {
                    "service_code": code,
                    "service_name": name,
                    "extract_date": extract_date.isoformat(),
                    "row_counts": {
                        export_file.file_name: row_counts[export_file.file_name]
                        for export_file in EXPORT_FILES
                    },
                }
                (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
                written.append((extract_date, code, folder))
            con.execute("drop table u_clients; drop table u_goals; drop table u_scores")
            con.execute("drop table u_trainers")
    return [folder for _, _, folder in sorted(written)]
