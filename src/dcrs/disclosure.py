"""Secondary disclosure: can the published tables, taken together, give a suppressed count
back? (docs/disclosure.md)

The attacker reads every published count (``_cells_sql``) and every linear identity that
holds between them (``extract_identities``): a measure's categories sum to its population
and its non-excluded categories to its denominator, the service summary's counts equal
categories of the measures, data capture's recorded counts are the measures' categories
less the unrecorded ones, the London comparison repeats the summary, and across the
extracts of a service the cumulative counts never fall. Each published count is an
integer within what its published value allows (0 is exact; a rounded value v is a count
within half a base of v and above the threshold; ``*`` is 1 to the threshold, or, for a
cell the suppression log lists as a complementary suppression, above it). For each
suppressed cell an integer program (``scipy.optimize.milp``) finds the smallest and the
largest count consistent with all of it: equal bounds are an exact recovery.

``protect`` runs the same attack on the counts the rule would publish (from the marts) and
suppresses complementary cells until no suppressed cell is pinned; the dbt Python model
``published_complementary_suppressions`` calls it for the extract being built.

``python -m dcrs.disclosure WAREHOUSE`` prints the attack's summary (never a suppressed
cell's bounds).
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# the client and goal counts of service_summary that are controlled: as
# disclosure_service_summary_counts() in macros/disclosure.sql (a fast test compares them)
SUMMARY_COUNTS = (
    "clients_registered",
    "women",
    "men",
    "eligible_clients",
    "clients_with_php",
    "goals_set",
    "goals_with_outcome",
    "clients_in_target_wards",
    "clients_with_ward_recorded",
    "clients_in_two_most_deprived_quintiles",
    "goals_achieved_or_part",
    "clients_with_goal_outcome",
    "clients_achieved_or_part",
)
# the published tables the attacker reads; any other table of the schema (report views,
# the suppression log, metadata) holds no count of its own
PUBLISHED_TABLES = (
    "measure_breakdown",
    "service_summary",
    "data_capture",
    "london_comparison",
    "wellbeing_outcomes",  # read when it exists (issue 16, outcomes)
    "monthly_activity",  # the monthly monitoring tables (issue 18), read when they exist
    "inequalities",
)
# published.monthly_activity's counts, one row per month: as
# disclosure_monthly_activity_counts() in macros/disclosure.sql (a fast test compares them)
MONTHLY_COUNTS = (
    "clients_registered",
    "clients_assessed",
    "phps_started",
    "goals_set",
    "goal_outcomes_recorded",
    "goals_achieved_or_part_achieved",
    "wellbeing_follow_ups_recorded",
)
# a month's events are dated events of the extract's records: each column's months add up
# to at most the extract's count of such records (an event with no usable date is in no
# month); clients_registered is exact, through month_first_seen's categories
MONTHLY_TOTALS = {
    "clients_registered": "clients_registered",
    "clients_assessed": "clients_registered",
    "phps_started": "clients_with_php",
    "goals_set": "goals_set",
    "goal_outcomes_recorded": "goals_with_outcome",
    "goals_achieved_or_part_achieved": "goals_achieved_or_part",
}
# within a month: (larger, smaller)
MONTHLY_ORDER = (
    ("goal_outcomes_recorded", "goals_achieved_or_part_achieved"),
    ("goals_set", "phps_started"),
)
# inequalities: the indicator's units in each dimension add up to these counts (the
# summary's, or the wellbeing instrument's): (numerator, denominator); None: not published
INEQUALITY_TOTALS = {
    "reach": (("service_summary", "clients_registered"), None),
    "php_started": (None, ("service_summary", "eligible_clients")),
    "goal_achieved_or_part": (
        ("service_summary", "goals_achieved_or_part"),
        ("service_summary", "goals_with_outcome"),
    ),
    "wellbeing_improved": (
        ("wellbeing_outcomes", "who5", "improved"),
        ("wellbeing_outcomes", "who5", "clients_paired"),
    ),
}
# published.wellbeing_outcomes' counts, one row per instrument (when the table exists)
WELLBEING_COUNTS = ("clients_with_baseline", "clients_with_follow_up", "clients_paired", "improved")
# the London comparison's counts, and the service_summary count each repeats
LONDON_COUNTS = {"total_clients": "clients_registered", "total_phps": "clients_with_php"}
# the population (reference.measures) -> the service_summary count of its size
POPULATION_TOTALS = {
    "all clients": "clients_registered",
    "eligible clients": "eligible_clients",
    "all goals": "goals_set",
}
# data capture: field -> (measure, the measure's categories that are not a recorded,
# valid value); recorded = the measure's other categories
CAPTURE_MEASURES = {
    "gender": ("gender", ("Not recorded", "Invalid")),
    "ethnicity": ("ethnicity", ("Not recorded", "Invalid")),
    "disability": ("disability", ("Not recorded", "Invalid")),
    "how_heard": ("how_heard", ("Not recorded", "Invalid")),
    "referral_source": ("referral_source", ("Not recorded", "Invalid")),
    "eligible": ("eligibility", ("Not yet assessed", "Invalid")),
    "signposted_to": ("signposting", ("Not yet done", "Invalid")),
    "primary_health_issue": ("primary_health_issue", ("Not recorded", "Invalid")),
    "bmi": ("bmi_band", ("Not recorded", "Invalid")),
    "ward": ("ward", ("Not recorded", "Invalid")),
}
# the service_summary counts that are sums of a measure's categories
SUMMARY_SUMS = {
    "women": ("gender", ("Female",)),
    "men": ("gender", ("Male",)),
    "eligible_clients": ("eligibility", ("Eligible",)),
    "clients_in_two_most_deprived_quintiles": (
        "deprivation_quintile",
        ("Q1 - Most deprived", "Q2"),
    ),
    "goals_with_outcome": ("goal_outcome", ("Achieved", "Part Achieved", "Not Achieved")),
    "goals_achieved_or_part": ("goal_outcome", ("Achieved", "Part Achieved")),
}
# counts that records can only add to, from one extract of a service to the next
CUMULATIVE_SUMMARY_COUNTS = ("clients_registered", "goals_set", "clients_with_php")
COMPLEMENTARY_RULE = "complementary"
# besides the measures' categories, the tables whose counts can be complementary
# suppressions (never a count that is the total of an identity)
COMPLEMENT_TABLES = ("monthly_activity", "inequalities")
MAX_ROUNDS = 50

Key = tuple[str, str, str, str, str]  # service, extract, table, row, column


class DisclosureError(RuntimeError):
    """A suppressed cell that only a total could protect: nothing is published."""


def _measure_cells_sql(schema: str, published: bool) -> str:
    excluded = "denominator_display is null" if published else "denominator is null"
    return f"""
        select
            service_code, extract_date::varchar as extract_date,
            'measure_breakdown' as table_name, measure_id || ' / ' || category as row_key,
            'n' as column_name, measure_id, category, {excluded} as excluded,
            n::double as value
        from {schema}.measure_breakdown
        union all
        select
            service_code, extract_date::varchar, 'measure_breakdown', measure_id,
            'denominator', measure_id, null, false, max(denominator)::double
        from {schema}.measure_breakdown
        where not ({excluded})
        group by service_code, extract_date, measure_id
    """


def _cells_sql(con: duckdb.DuckDBPyConnection, schema: str = "published") -> str:
    """Every count of the published tables (or, with schema 'marts', the true counts they
    come from), one row per cell: service_code, extract_date, table_name, row_key,
    column_name, measure_id, category, excluded (a category outside the denominator),
    value (null when suppressed)."""
    published = schema == "published"
    columns = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = 'service_summary'",
            [schema],
        ).fetchall()
    }
    summary = " union all ".join(
        f"""select service_code, extract_date::varchar, 'service_summary', service_code,
            '{column}', null, null, false, {column}::double
            from {schema}.service_summary"""
        for column in SUMMARY_COUNTS
        if column in columns
    )
    capture = " union all ".join(
        f"""select service_code, extract_date::varchar, 'data_capture', field,
            '{column}', null, null, false, {column}::double
            from {schema}.data_capture"""
        for column in ("recorded", "total")
    )
    wellbeing = [
        f"""select service_code, extract_date::varchar, 'wellbeing_outcomes', instrument,
            '{column}', null, null, false, {column}::double
            from {schema}.wellbeing_outcomes"""
        for column in WELLBEING_COUNTS
        if _has_table(con, schema, "wellbeing_outcomes")
    ]
    monitoring = []
    if _has_table(con, schema, "monthly_activity"):
        monitoring += [
            f"""select service_code, extract_date::varchar, 'monthly_activity',
                month::varchar, '{column}', null, null, false, {column}::double
                from {schema}.monthly_activity"""
            for column in MONTHLY_COUNTS
        ]
    if _has_table(con, schema, "inequalities"):
        # reach's groups left out of its denominator have none: not a count, not a cell
        has_denominator = "has_denominator" if published else "denominator is not null"
        row = "indicator_id || ' / ' || dimension || ' / ' || group_name"
        monitoring += [
            f"""select service_code, extract_date::varchar, 'inequalities', {row}, 'n',
                indicator_id, dimension || ' / ' || group_name, false, n::double
                from {schema}.inequalities""",
            f"""select service_code, extract_date::varchar, 'inequalities', {row},
                'denominator', indicator_id, dimension || ' / ' || group_name, false,
                denominator::double
                from {schema}.inequalities where {has_denominator}""",
        ]
    london_ids = ", ".join(f"'{figure}'" for figure in LONDON_COUNTS)
    london = f"""select service_code, extract_date::varchar, 'london_comparison', figure_id,
        'service_value', null, null, false, service_value::double
        from {schema}.london_comparison where figure_id in ({london_ids})"""
    return " union all ".join(
        [_measure_cells_sql(schema, published), summary, capture, london, *wellbeing, *monitoring]
    )


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ? "
            "and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def read_cells(
    con: duckdb.DuckDBPyConnection, schema: str = "published", service: str | None = None
) -> pd.DataFrame:
    """The cells of ``_cells_sql`` as a data frame, with their key."""
    where = "where service_code = ?" if service else ""
    cells = con.execute(
        f"select * from ({_cells_sql(con, schema)}) {where} order by all",
        [service] if service else [],
    ).df()
    cells.columns = [
        "service_code",
        "extract_date",
        "table_name",
        "row_key",
        "column_name",
        "measure_id",
        "category",
        "excluded",
        "value",
    ]
    cells["key"] = list(
        zip(
            cells.service_code,
            cells.extract_date,
            cells.table_name,
            cells.row_key,
            cells.column_name,
            strict=True,
        )
    )
    return cells


@dataclass
class Catalogue:
    """What the published documentation says: each measure's population, each service's
    target wards."""

    populations: dict[str, str]
    target_wards: dict[str, set[str]]
    # instrument -> (its change measure, the categories whose change is above 0, the
    # categories whose change is 0 or more: improved lies between their sums)
    instruments: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict
    )
    # inequalities: dimension -> the measure whose categories are its groups; and each
    # broad ethnic group -> the ethnicity categories in it
    dimension_measures: dict[str, str] = field(default_factory=dict)
    ethnic_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> Catalogue:
        populations = dict(
            con.execute("select measure_id, population from reference.measures").fetchall()
        )
        instruments = {}
        for instrument, measure in con.execute(
            "select instrument, measure_id from reference.wellbeing_instruments"
        ).fetchall():
            bands = con.execute(
                "select category, band_lower from reference.measure_categories "
                "where measure_id = ? and not excluded_from_denominator",
                [measure],
            ).fetchall()
            above = tuple(name for name, lower in bands if lower is not None and lower > 0)
            from_zero = tuple(name for name, lower in bands if lower is not None and lower >= 0)
            instruments[instrument] = (measure, above, from_zero)
        wards: dict[str, set[str]] = defaultdict(set)
        for service, ward in con.execute(
            "select service_code, ward from reference.service_target_wards"
        ).fetchall():
            wards[service].add(ward)
        dimension_measures: dict[str, str] = {}
        ethnic_groups: dict[str, list[str]] = defaultdict(list)
        if _has_table(con, "reference", "inequality_dimensions"):
            dimension_measures = dict(
                con.execute(
                    "select dimension, measure_id from reference.inequality_dimensions "
                    "where measure_id is not null"
                ).fetchall()
            )
        if _has_table(con, "reference", "ethnic_groups"):
            for ethnicity, group in con.execute(
                "select ethnicity, ethnic_group from reference.ethnic_groups"
            ).fetchall():
                ethnic_groups[group].append(ethnicity)
        return cls(
            populations,
            dict(wards),
            instruments,
            dimension_measures,
            {group: tuple(names) for group, names in ethnic_groups.items()},
        )


@dataclass
class Identity:
    """sum(coefficient x count) + constant == 0 (or >= 0), between the cells (and free
    variables) of one service."""

    terms: dict[Key, int]
    sense: str  # '==' or '>='
    label: str
    totals: frozenset[Key] = field(default_factory=frozenset)
    constant: float = 0


def extract_identities(cells: pd.DataFrame, catalogue: Catalogue) -> list[Identity]:
    """Every linear identity between the cells, within each extract and between the
    consecutive extracts of each service. A population with no published count of its
    size (clients with a baseline and a follow-up) is a free variable, keyed with table
    'free'."""
    identities: list[Identity] = []
    for (service, extract), group in cells.groupby(["service_code", "extract_date"]):
        identities += _extract_identities(service, extract, group, catalogue)
    for service, group in cells.groupby("service_code"):
        extracts = sorted(group.extract_date.unique())
        keys = set(group.key)
        for earlier, later in zip(extracts, extracts[1:], strict=False):
            for table, row, column in _cumulative_cells(group, service, earlier):
                before = (service, earlier, table, row, column)
                after = (service, later, table, row, column)
                if before in keys and after in keys:
                    identities.append(
                        Identity({after: 1, before: -1}, ">=", f"{table} {row} {column} grows")
                    )
    return identities


def _cumulative_cells(group: pd.DataFrame, service: str, extract: str) -> list[tuple]:
    found = [("service_summary", service, column) for column in CUMULATIVE_SUMMARY_COUNTS]
    months = group[
        (group.extract_date == extract)
        & (group.measure_id == "month_first_seen")
        & (group.column_name == "n")
    ]
    found += [("measure_breakdown", row, "n") for row in months.row_key]
    return found


def _extract_identities(
    service: str, extract: str, group: pd.DataFrame, catalogue: Catalogue
) -> list[Identity]:
    keys = set(group.key)

    def cell(table: str, row: str, column: str) -> Key | None:
        key = (service, extract, table, row, column)
        return key if key in keys else None

    def summary(column: str) -> Key | None:
        return cell("service_summary", service, column)

    def category(measure: str, name: str) -> Key | None:
        return cell("measure_breakdown", f"{measure} / {name}", "n")

    found: list[Identity] = []

    def equal(total: Key | None, parts: Iterable[Key | None], label: str) -> None:
        parts = [part for part in parts if part is not None]
        if total is None:
            return
        terms: dict[Key, int] = defaultdict(int)
        terms[total] += 1
        for part in parts:
            terms[part] -= 1
        found.append(Identity(dict(terms), "==", label, frozenset({total})))

    measures = group[(group.table_name == "measure_breakdown") & (group.column_name == "n")]
    by_measure = {measure: rows for measure, rows in measures.groupby("measure_id")}
    for measure, rows in by_measure.items():
        total_column = POPULATION_TOTALS.get(catalogue.populations.get(measure, ""))
        total = summary(total_column) if total_column else None
        if total is None:
            total = (service, extract, "free", measure, "population")
        equal(total, rows.key, f"{measure}: categories sum to the population")
        equal(
            cell("measure_breakdown", measure, "denominator"),
            rows[~rows.excluded.astype(bool)].key,
            f"{measure}: categories sum to the denominator",
        )
    for column, (measure, names) in SUMMARY_SUMS.items():
        if measure in by_measure:
            equal(summary(column), [category(measure, name) for name in names], column)
    if "php_goal_count" in by_measure:
        equal(
            summary("clients_registered"),
            [category("php_goal_count", "No goals"), summary("clients_with_php")],
            "clients_with_php: clients less those with no goals",
        )
    if "ward" in by_measure:
        targets = catalogue.target_wards.get(service, set())
        equal(
            summary("clients_in_target_wards"),
            [category("ward", ward) for ward in sorted(targets)],
            "clients_in_target_wards",
        )
        ward_rows = by_measure["ward"]
        equal(
            summary("clients_with_ward_recorded"),
            ward_rows[~ward_rows.category.isin(["Not recorded", "Invalid"])].key,
            "clients_with_ward_recorded",
        )
    if "goal_type" in by_measure and "goal" in by_measure:
        goals = by_measure["goal"]
        for name in by_measure["goal_type"].category:
            prefix = goals.category.str.split(" - ").str[0]
            equal(
                category("goal_type", name),
                goals[prefix == name].key,
                f"goal_type {name}: its goals",
            )
    for figure, column in LONDON_COUNTS.items():
        equal(cell("london_comparison", figure, "service_value"), [summary(column)], figure)
    # the client-level goal headline: each such client has at least one goal of the kind
    for larger, smaller in (
        ("clients_with_goal_outcome", "clients_achieved_or_part"),
        ("goals_with_outcome", "clients_with_goal_outcome"),
        ("goals_achieved_or_part", "clients_achieved_or_part"),
        ("clients_with_php", "clients_with_goal_outcome"),
    ):
        if summary(larger) is not None and summary(smaller) is not None:
            found.append(
                Identity({summary(larger): 1, summary(smaller): -1}, ">=", f"{smaller} <= {larger}")
            )
    for instrument, (measure, above, from_zero) in catalogue.instruments.items():
        paired = cell("wellbeing_outcomes", instrument, "clients_paired")
        if paired is None:
            continue
        if measure in by_measure:
            equal(paired, by_measure[measure].key, f"{instrument}: paired clients")
        improved = cell("wellbeing_outcomes", instrument, "improved")
        lower = [category(measure, name) for name in above]
        upper = [category(measure, name) for name in from_zero]
        if improved is not None:
            found.append(
                Identity({improved: 1} | {key: -1 for key in lower if key}, ">=", "improved")
            )
            found.append(
                Identity({improved: -1} | {key: 1 for key in upper if key}, ">=", "improved")
            )
        for column in ("clients_with_baseline", "clients_with_follow_up"):
            counted = cell("wellbeing_outcomes", instrument, column)
            if counted is not None:
                found.append(Identity({counted: 1, paired: -1}, ">=", f"paired <= {column}"))
                registered = summary("clients_registered")
                if registered is not None:
                    found.append(
                        Identity({registered: 1, counted: -1}, ">=", f"{column} <= clients")
                    )
    fields = group[group.table_name == "data_capture"].row_key.unique()
    for name in fields:
        recorded = cell("data_capture", name, "recorded")
        total = cell("data_capture", name, "total")
        if name in CAPTURE_MEASURES and CAPTURE_MEASURES[name][0] in by_measure:
            measure, unrecorded = CAPTURE_MEASURES[name]
            rows = by_measure[measure]
            equal(recorded, rows[~rows.category.isin(unrecorded)].key, f"{name} recorded")
            equal(total, rows.key, f"{name} total")
        if recorded is not None and total is not None:
            found.append(Identity({total: 1, recorded: -1}, ">=", f"{name}: recorded <= total"))
    for name, population in (
        ("date_of_birth", "clients_registered"),
        ("health_trainer_id", "clients_registered"),
        ("postcode", "clients_registered"),
        ("deprivation_quintile", "clients_registered"),
        ("initial_assessment_date", "eligible_clients"),
        ("goal_set_date", "goals_set"),
    ):
        equal(cell("data_capture", name, "total"), [summary(population)], f"{name} total")
    equal(
        cell("data_capture", "referral_source_other", "total"),
        [category("referral_source", "Other")],
        "referral_source_other total",
    )
    found += _monthly_identities(service, extract, group, cell, summary, category)
    found += _inequality_identities(service, extract, group, catalogue, cell, category)
    return found


def _monthly_identities(service, extract, group, cell, summary, category) -> list[Identity]:
    """published.monthly_activity: each month's registrations are month_first_seen's
    category; each column's months add up to at most the extract's count (an event with
    no usable date is in no month); within a month, achieved <= outcomes and PHPs started
    <= goals set (a PHP starts with a goal)."""
    rows = group[(group.table_name == "monthly_activity")]
    if rows.empty:
        return []
    found: list[Identity] = []
    months = sorted(rows.row_key.unique())
    for month in months:
        registered = cell("monthly_activity", month, "clients_registered")
        name = pd.Timestamp(month).strftime("%B %Y")
        first_seen = category("month_first_seen", name)
        if registered is not None and first_seen is not None:
            found.append(Identity({registered: 1, first_seen: -1}, "==", f"{month}: registrations"))
        for larger, smaller in MONTHLY_ORDER:
            big, small = (
                cell("monthly_activity", month, larger),
                cell("monthly_activity", month, smaller),
            )
            if big is not None and small is not None:
                found.append(Identity({big: 1, small: -1}, ">=", f"{month}: {smaller}"))
    for column, total_column in MONTHLY_TOTALS.items():
        total = summary(total_column)
        parts = [cell("monthly_activity", month, column) for month in months]
        parts = [part for part in parts if part is not None]
        if total is None or not parts:
            continue
        terms = {total: 1} | {part: -1 for part in parts}
        found.append(
            Identity(terms, ">=", f"monthly {column} <= {total_column}", frozenset({total}))
        )
    return found


def _inequality_identities(service, extract, group, catalogue, cell, category) -> list:
    """published.inequalities: in every dimension an indicator's groups add up to the same
    numerator and the same denominator (a free variable, or the summary's count where one
    is published); a group's n is at most its denominator; reach's denominator is the sum
    of its groups less those left out; reach's groups are the matching measure's
    categories (a broad ethnic group, the sum of its ethnicities)."""
    rows = group[(group.table_name == "inequalities")]
    if rows.empty:
        return []
    found: list[Identity] = []
    sums: dict[tuple[str, str, str], list[Key]] = defaultdict(list)
    for key, indicator, row_key, column in zip(
        rows.key, rows.measure_id, rows.row_key, rows.column_name, strict=True
    ):
        dimension = row_key.split(" / ")[1]
        sums[(indicator, dimension, column)].append(key)
    for (indicator, dimension, column), parts in sums.items():
        numerator, denominator = INEQUALITY_TOTALS.get(indicator, (None, None))
        if indicator == "reach" and column == "denominator":
            # each group's denominator: the groups that have one, summed
            counted = [cell("inequalities", key[3], "n") for key in parts]
            for key in parts:
                terms: dict[Key, int] = defaultdict(int)
                terms[key] += 1
                for part in counted:
                    terms[part] -= 1
                found.append(
                    Identity(dict(terms), "==", f"reach {dimension} denominator", frozenset({key}))
                )
            continue
        total_of = numerator if column == "n" else denominator
        total = cell(*total_of) if total_of and total_of[0] != "service_summary" else None
        if total_of and total_of[0] == "service_summary":
            total = cell("service_summary", service, total_of[1])
        if total is None:
            total = (service, extract, "free", f"inequalities {indicator}", column)
        terms = defaultdict(int)
        terms[total] += 1
        for part in parts:
            terms[part] -= 1
        found.append(
            Identity(dict(terms), "==", f"{indicator} {dimension} {column}", frozenset({total}))
        )
    for row_key in rows[rows.column_name == "n"].row_key:
        indicator, dimension, name = row_key.split(" / ", 2)
        numerator = cell("inequalities", row_key, "n")
        denominator = cell("inequalities", row_key, "denominator")
        if indicator != "reach" and denominator is not None:
            found.append(Identity({denominator: 1, numerator: -1}, ">=", f"{row_key}: n <= d"))
        if indicator != "reach":
            continue
        if dimension == "ethnic_group":
            parts = [category("ethnicity", each) for each in catalogue.ethnic_groups.get(name, ())]
        elif dimension in catalogue.dimension_measures:
            parts = [category(catalogue.dimension_measures[dimension], name)]
        else:
            continue
        parts = [part for part in parts if part is not None]
        if parts:
            found.append(
                Identity({numerator: 1} | {part: -1 for part in parts}, "==", f"{row_key}")
            )
    return found


# --- the integer program ---------------------------------------------------------------


@dataclass
class Rule:
    suppress_max: int
    base: int

    def publish(self, count: float) -> float | None:
        """The count as the rule publishes it (macros/disclosure.sql): None when
        suppressed."""
        if count == 0:
            return 0.0
        if count <= self.suppress_max:
            return None
        return float(((int(count) * 2 + self.base) // (self.base * 2)) * self.base)

    def rounded_bounds(self, value: float) -> tuple[int, int]:
        low = math.ceil(value - self.base / 2)
        high = math.ceil(value + self.base / 2) - 1
        return max(low, self.suppress_max + 1), high


@dataclass
class Attack:
    """The bounds the attacker finds for each suppressed cell."""

    bounds: dict[Key, tuple[int, int]]
    complementary: set[Key]
    rule: Rule

    @property
    def primary(self) -> dict[Key, tuple[int, int]]:
        return {k: b for k, b in self.bounds.items() if k not in self.complementary}

    @property
    def exact(self) -> list[Key]:
        return sorted(k for k, (low, high) in self.primary.items() if low == high)

    @property
    def narrowed(self) -> list[Key]:
        width = self.rule.suppress_max - 1
        return sorted(
            k for k, (low, high) in self.primary.items() if low < high and high - low < width
        )

    def summary(self) -> str:
        return (
            f"{len(self.primary)} suppressed cells, {len(self.complementary)} complementary "
            f"suppressions; exactly recovered {len(self.exact)}, narrowed below 1 to "
            f"{self.rule.suppress_max} {len(self.narrowed)}"
        )


def _bounds(
    cells: pd.DataFrame, rule: Rule, complementary: set[Key]
) -> tuple[dict[Key, tuple[int, int]], list[Key]]:
    """Each cell's bounds from its published value; and the suppressed cells."""
    bounds: dict[Key, tuple[int, int]] = {}
    suppressed: list[Key] = []
    finite = [rule.suppress_max]
    for key, value in zip(cells.key, cells.value, strict=True):
        if value is None or pd.isna(value):
            suppressed.append(key)
        elif value == 0:
            bounds[key] = (0, 0)
        else:
            bounds[key] = rule.rounded_bounds(value)
            finite.append(bounds[key][1])
    big = max(finite)
    for key in suppressed:
        if key in complementary:
            bounds[key] = (rule.suppress_max + 1, max(big, rule.suppress_max + 1))
        else:
            bounds[key] = (1, rule.suppress_max)
    return bounds, suppressed


def _program(
    bounds: dict[Key, tuple[int, int]], identities: list[Identity], big: int
) -> tuple[dict[Key, int], object, object]:
    from scipy.optimize import Bounds, LinearConstraint
    from scipy.sparse import coo_array

    index: dict[Key, int] = {key: i for i, key in enumerate(bounds)}
    for identity in identities:
        for key in identity.terms:
            index.setdefault(key, len(index))
    low = np.zeros(len(index))
    high = np.full(len(index), float(big))
    for key, (lower, upper) in bounds.items():
        low[index[key]], high[index[key]] = lower, upper
    rows, cols, data, lower_rhs, upper_rhs = [], [], [], [], []
    for number, identity in enumerate(identities):
        for key, coefficient in identity.terms.items():
            rows.append(number)
            cols.append(index[key])
            data.append(coefficient)
        lower_rhs.append(-identity.constant)
        upper_rhs.append(-identity.constant if identity.sense == "==" else np.inf)
    matrix = coo_array((data, (rows, cols)), shape=(len(identities), len(index))).tocsr()
    return index, Bounds(low, high), LinearConstraint(matrix, lower_rhs, upper_rhs)


def _solver(cells: pd.DataFrame, identities: list[Identity], rule: Rule, complementary: set[Key]):
    """The suppressed cells, and a function giving a cell's least (sign 1) or greatest
    (sign -1) value over every solution."""
    from scipy.optimize import milp

    bounds, suppressed = _bounds(cells, rule, complementary)
    if not bounds:
        return suppressed, None
    big = max(high for _, high in bounds.values())
    index, variable_bounds, constraints = _program(bounds, identities, big)
    integrality = np.ones(len(index))

    def extreme(key: Key, sign: float) -> int:
        objective = np.zeros(len(index))
        objective[index[key]] = sign
        result = milp(
            objective, integrality=integrality, bounds=variable_bounds, constraints=constraints
        )
        if result.x is None:
            raise DisclosureError(
                f"the published counts and identities admit no solution ({result.message})"
            )
        return round(result.x[index[key]])

    return suppressed, extreme


def attack(
    cells: pd.DataFrame,
    identities: list[Identity],
    rule: Rule,
    complementary: set[Key] | None = None,
    targets: Iterable[Key] | None = None,
) -> Attack:
    """Bound every suppressed cell (or ``targets``) by two integer programs each."""
    complementary = set(complementary or ())
    suppressed, extreme = _solver(cells, identities, rule, complementary)
    if extreme is None:
        return Attack({}, set(), rule)
    found = {
        key: (extreme(key, 1.0), extreme(key, -1.0))
        for key in (targets if targets is not None else suppressed)
    }
    return Attack(found, complementary & set(found), rule)


def pinned_cells(
    cells: pd.DataFrame,
    identities: list[Identity],
    rule: Rule,
    complementary: set[Key],
    truth: dict[Key, float] | None = None,
    targets: Iterable[Key] | None = None,
) -> list[Key]:
    """The suppressed cells (or ``targets``) not in ``complementary`` that the attack
    pins to one value. ``truth``, if given, must be a solution (the true counts, when
    they satisfy every identity): a cell whose greatest value differs from its true count
    is not pinned, and needs no second program."""
    suppressed, extreme = _solver(cells, identities, rule, complementary)
    if extreme is None:
        return []
    found = []
    for key in targets if targets is not None else suppressed:
        if key in complementary:
            continue
        greatest = extreme(key, -1.0)
        if truth is not None and greatest != truth[key]:
            continue
        if extreme(key, 1.0) == greatest:
            found.append(key)
    return sorted(found)


def check_identities(cells: pd.DataFrame, identities: list[Identity]) -> list[str]:
    """The identities the true counts (``cells.value``) do not satisfy, free variables
    chosen freely: each identity with a free variable is checked once the others fix it."""
    values = dict(zip(cells.key, cells.value, strict=True))
    free: dict[Key, float] = {}
    broken = []
    ordered = sorted(identities, key=lambda identity: identity.label.endswith("population"))
    for identity in sorted(ordered, key=lambda i: not any(k[2] == "free" for k in i.terms)):
        unknown = [k for k in identity.terms if k[2] == "free" and k not in free]
        known = identity.constant + sum(
            coefficient * (free[key] if key[2] == "free" and key in free else values[key])
            for key, coefficient in identity.terms.items()
            if key not in unknown
        )
        if unknown and identity.sense == "==":
            free[unknown[0]] = -known / identity.terms[unknown[0]]
            continue
        if (identity.sense == "==" and known != 0) or (identity.sense == ">=" and known < 0):
            broken.append(identity.label)
    return broken


# --- protection: complementary suppression ---------------------------------------------


def publish(cells: pd.DataFrame, rule: Rule, complementary: set[Key]) -> pd.DataFrame:
    """The cells as the rule, with the complementary suppressions, publishes them."""
    published = cells.copy()
    published["value"] = [
        None if key in complementary else rule.publish(value)
        for key, value in zip(cells.key, cells.value, strict=True)
    ]
    return published


def _equal_classes(identities: list[Identity]) -> dict[Key, set[Key]]:
    """Cells that identities of two cells make equal: suppressing one suppresses all."""
    classes: dict[Key, set[Key]] = {}
    for identity in identities:
        if identity.sense == "==" and len(identity.terms) == 2:
            (first, a), (second, b) = identity.terms.items()
            if a == -b:
                merged = classes.get(first, {first}) | classes.get(second, {second})
                for key in merged:
                    classes[key] = merged
    return classes


def protect(
    true_cells: pd.DataFrame,
    identities: list[Identity],
    rule: Rule,
    extract: tuple[str, str],
    earlier: set[Key],
) -> dict[Key, Key]:
    """The complementary suppressions for the cells of ``extract`` (service, extract date)
    so that no suppressed cell of the service is pinned, given those of earlier extracts
    (``earlier``): complementary cell -> the cell it protects. A pinned cell is protected
    by the smallest other count (a measure's category, never a total, nor an Invalid
    category, which data_quality_results publishes again) of an identity it is in, with
    every count equal to it; a pinned cell that only a total could protect stops
    with DisclosureError."""
    if true_cells.empty:
        return {}
    # the choice reads only what the rule publishes (and the identities), never the true
    # counts: two exports whose counts publish alike get the same suppressions
    ruled = dict(zip(true_cells.key, publish(true_cells, rule, set()).value, strict=True))
    classes = _equal_classes(identities)
    totals = {key for identity in identities for key in identity.totals}
    chosen: dict[Key, Key] = {}
    # the true counts, when they satisfy the identities (they do, unless the marts were
    # altered by hand), are one solution of every attack: they save programs, and change
    # no result
    truth = None
    if not check_identities(true_cells, identities):
        truth = dict(zip(true_cells.key, true_cells.value, strict=True))
    targets = None
    by_cell: dict[Key, list[Identity]] = defaultdict(list)
    for identity in identities:
        for key in identity.terms:
            by_cell[key].append(identity)
    for _ in range(MAX_ROUNDS):
        complementary = earlier | set(chosen)
        published = publish(true_cells, rule, complementary)
        pinned = pinned_cells(published, identities, rule, complementary, truth, targets)
        if not pinned:
            return chosen
        # a suppression only widens what the attacker must allow, so it never pins a cell
        # that was not pinned: the next round attacks only the cells pinned in this one
        targets = pinned
        added: set[Key] = set()
        handled: set[Key] = set()
        # cells that equalities make equal (an inequality group's count and its measure's
        # category) are one cell: protected once, through the measure's category, whose
        # complements (its measure's categories, data capture's recorded count) are known
        for key in sorted(pinned, key=lambda cell: (cell[2] != "measure_breakdown", cell)):
            if key in handled:
                continue
            handled |= classes.get(key, {key})
            if any(
                key in identity.terms and added & identity.terms.keys() for identity in identities
            ):
                # a complement chosen this round may already protect it: attack again
                continue
            candidate = _complement(key, identities, ruled, complementary, totals)
            if candidate is None or candidate[:2] != extract:
                # a cell of an earlier extract, pinned through the counts that grow from
                # extract to extract: suppress one of those counts in this one
                candidate = _growing_complement(
                    key, identities, ruled, complementary, totals, extract
                )
            if candidate is None and added:
                # what this round suppressed may protect it: attack again
                continue
            if candidate is None:
                candidate = _complement(
                    _in_extract(key, extract), identities, ruled, complementary, totals
                )
            if candidate is None or candidate[:2] != extract:
                # the last resort before stopping: the data capture count of the
                # measure's recorded values, whose difference from the total is the
                # unrecorded categories
                candidate = _capture_complement(key, ruled, complementary, extract)
            if candidate is None or candidate[:2] != extract:
                # a cell pinned through the monitoring tables (issue 18): the nearest
                # count of this extract in the identities, breadth first
                candidate = _nearest_complement(
                    key, identities, by_cell, ruled, complementary, totals, extract
                )
            if candidate is None or candidate[:2] != extract:
                raise DisclosureError(
                    f"{key[2]} {key[3]} ({key[4]}) of {key[0]} {key[1]} could be worked out "
                    "from the published tables, and only a total could be suppressed to "
                    "prevent it: nothing was published"
                )
            for member in classes.get(candidate, {candidate}):
                chosen.setdefault(member, key)
                added.add(member)
            complementary = earlier | set(chosen)
    raise DisclosureError(f"no complementary suppressions found in {MAX_ROUNDS} rounds")


def _capture_complement(
    key: Key,
    ruled: dict[Key, float | None],
    complementary: set[Key],
    extract: tuple[str, str],
) -> Key | None:
    """For a category of a measure with a data capture field (gender: its Not recorded):
    that field's recorded count in ``extract``, if rounded and not yet suppressed. The
    published data capture table then shows no recorded count or percentage for it."""
    if key[2] != "measure_breakdown":
        return None
    measure = key[3].split(" / ")[0]
    candidates = {
        (*extract, "data_capture", name, "recorded")
        for name, (captured, _) in CAPTURE_MEASURES.items()
        if captured == measure
    }
    candidates = {
        other
        for other in candidates
        if other not in complementary and not pd.isna(ruled.get(other)) and ruled[other] > 0
    }
    return min(candidates) if candidates else None


def _growing_complement(
    key: Key,
    identities: list[Identity],
    ruled: dict[Key, float | None],
    complementary: set[Key],
    totals: set[Key],
    extract: tuple[str, str],
) -> Key | None:
    """For a cell of an earlier extract: the smallest rounded category of ``extract``
    (by its published value), not yet suppressed, among the counts that grow from a count
    of that earlier extract (a month's clients first seen) and the other categories of
    their measure (the newest month). Each one suppressed widens what the attacker must
    allow for the earlier counts; protect adds one a round until the cell is no longer
    pinned."""
    if key[:2] == extract:
        return None
    growing = {
        term
        for identity in identities
        if identity.sense == ">=" and any(other[:2] == key[:2] for other in identity.terms)
        for term in identity.terms
        if term[:2] == extract
    }
    measures = {term[3].split(" / ")[0] for term in growing if term[2] == "measure_breakdown"}
    related = growing | {
        term
        for identity in identities
        if identity.sense == "==" and growing & identity.terms.keys()
        for term in identity.terms
        if term[2] == "measure_breakdown" and term[3].split(" / ")[0] in measures
    }
    return _smallest_category(
        {other for other in related if other[:2] == extract}, ruled, complementary, totals
    )


def _in_extract(key: Key, extract: tuple[str, str]) -> Key:
    return (*extract, *key[2:])


def _nearest_complement(
    key: Key,
    identities: list[Identity],
    by_cell: dict[Key, list[Identity]],
    ruled: dict[Key, float | None],
    complementary: set[Key],
    totals: set[Key],
    extract: tuple[str, str],
) -> Key | None:
    """``_complement`` of ``key`` among the cells of ``extract``; failing that, of the
    cells one identity further away, and so on (breadth first)."""
    seen = {key}
    frontier = [key]
    while frontier:
        found = [
            each
            for cell in frontier
            if (each := _complement(cell, by_cell[cell], ruled, complementary, totals, extract))
        ]
        if found:
            return min(found, key=lambda other: (ruled[other], other))
        following = []
        for cell in frontier:
            for identity in by_cell[cell]:
                for other in identity.terms:
                    if other not in seen:
                        seen.add(other)
                        following.append(other)
        frontier = following
    return None


def _complement(
    key: Key,
    identities: list[Identity],
    ruled: dict[Key, float | None],
    complementary: set[Key],
    totals: set[Key],
    extract: tuple[str, str] | None = None,
    include_self: bool = False,
) -> Key | None:
    """The smallest rounded category (by its published value) of an identity holding
    ``key`` (an equality, unless ``extract`` is given: then any identity, and only cells
    of ``extract``; ``include_self``: ``key`` too), not yet suppressed."""
    return _smallest_category(
        {
            other
            for identity in identities
            if (identity.sense == "==" or extract is not None) and key in identity.terms
            for other in identity.terms
            if (other != key or include_self) and (extract is None or other[:2] == extract)
        },
        ruled,
        complementary,
        totals,
    )


def _smallest_category(
    keys: set[Key],
    ruled: dict[Key, float | None],
    complementary: set[Key],
    totals: set[Key],
) -> Key | None:
    """Of ``keys``, the count with the smallest rounded published value (then by key):
    a measure's category, a month's count or an inequality group's count, that is not a
    total, not yet suppressed, and not an Invalid category (published again in
    data_quality_results: the code-list checks' invalid values)."""
    candidates = {
        other
        for other in keys
        if ((other[2] == "measure_breakdown" and other[4] == "n") or other[2] in COMPLEMENT_TABLES)
        and other not in totals
        and not other[3].endswith(" / Invalid")
        and other not in complementary
        and not pd.isna(ruled.get(other))
        and ruled[other] > 0
    }
    if not candidates:
        return None
    return min(candidates, key=lambda other: (ruled[other], other))


# --- reading a warehouse ---------------------------------------------------------------


def rule_of(con: duckdb.DuckDBPyConnection) -> Rule:
    """The rule the warehouse was published under (published.report_disclosure_rule)."""
    row = con.execute("select * from published.report_disclosure_rule").df().iloc[0]
    return Rule(int(row["suppress_max"]), int(row["rounding_base"]))


def published_complementary(con: duckdb.DuckDBPyConnection) -> set[Key]:
    """The cells the suppression log lists as complementary suppressions."""
    rows = con.execute(
        "select service_code, extract_date::varchar, table_name, row_key, column_name "
        "from published.suppression_log where rule_applied like ?",
        [f"{COMPLEMENTARY_RULE}%"],
    ).fetchall()
    found = set()
    for service, extract, table, row, column in rows:
        if table == "measure_breakdown" and column == "denominator":
            row = row.split(" / ")[0]
        found.add((service, extract, table, row, column))
    return found


def verdict_identities(con: duckdb.DuckDBPyConnection, schema: str = "published") -> list:
    """Data capture's verdict, where shown, decided on the true counts: recorded is at
    least threshold% of total, or below it (100 x recorded < threshold x total)."""
    found = []
    for service, extract, name, threshold, meets in con.execute(
        "select service_code, extract_date::varchar, field, threshold_percent, "
        f"meets_threshold from {schema}.data_capture where meets_threshold is not null"
    ).fetchall():
        recorded = (service, extract, "data_capture", name, "recorded")
        total = (service, extract, "data_capture", name, "total")
        if meets:
            found.append(Identity({recorded: 100, total: -threshold}, ">=", f"{name} meets"))
        else:
            # strictly below: the smallest step of 100 x recorded - threshold x total
            # is at least 1e-6 for thresholds of up to six decimals
            found.append(
                Identity({recorded: -100, total: threshold}, ">=", f"{name} below", constant=-1e-6)
            )
    return found


def attack_warehouse(warehouse: Path) -> tuple[Attack, list[Attack]]:
    """The attack on every service of a published warehouse: (all, one per service)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rule = rule_of(con)
        catalogue = Catalogue.read(con)
        complementary = published_complementary(con)
        cells = read_cells(con)
        verdicts = verdict_identities(con)
    attacks = []
    for service, group in cells.groupby("service_code"):
        identities = extract_identities(group, catalogue)
        identities += [each for each in verdicts if next(iter(each.terms))[0] == service]
        attacks.append(attack(group, identities, rule, complementary))
    merged = Attack({}, set(), rule)
    for each in attacks:
        merged.bounds.update(each.bounds)
        merged.complementary |= each.complementary
    return merged, attacks


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        print("usage: python -m dcrs.disclosure WAREHOUSE", file=sys.stderr)
        return 2
    result, _ = attack_warehouse(Path(arguments[0]))
    print(result.summary())
    return 1 if result.exact else 0


if __name__ == "__main__":
    raise SystemExit(main())
