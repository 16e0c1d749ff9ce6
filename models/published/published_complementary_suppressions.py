"""Complementary suppressions (docs/disclosure.md): the counts of the extract being built
that are suppressed besides those of 1 to the threshold, so that no suppressed count can
be worked out from the published tables together, this extract's and the earlier extracts'
of the same service. dcrs.disclosure.protect attacks the counts the rule would publish
with an integer program and suppresses the smallest other category of an identity that
pins a cell, until none is pinned; it stops the build when only a total could protect a
cell.

Incremental, and built in schema audit (not published: it names the cell each one
protects): the suppressions chosen for earlier extracts stay as they were published, and
the attack on a new extract takes them as given. The published models read it."""

import pandas as pd

COLUMNS = [
    "service_code",
    "extract_date",
    "table_name",
    "row_key",
    "column_name",
    "protected_extract_date",
    "protected_table_name",
    "protected_row_key",
    "protected_column_name",
]


def model(dbt, session):
    dbt.config(materialized="incremental", schema="audit")
    manifests = dbt.ref("stg_dcrs__manifests")
    # the true counts the published tables come from: refs, so that dbt runs this after
    # them and shows the lineage. The catalogue (reference.measures and
    # service_target_wards) is read by name, as the attacker reads it: published models
    # ref marts only (tests/test_publishing.py), and the marts are built after the seeds
    dbt.ref("measure_breakdown")
    dbt.ref("service_summary")
    dbt.ref("data_capture")
    dbt.ref("london_comparison")
    dbt.ref("monthly_activity")
    dbt.ref("inequalities")

    from dcrs.disclosure import Catalogue, Rule, extract_identities, protect, read_cells

    rule = Rule(
        int(dbt.config.get("disclosure_suppress_max")),
        int(dbt.config.get("disclosure_rounding_base")),
    )
    catalogue = Catalogue.read(session)
    found = []
    for service, extract in manifests.project("service_code, extract_date").fetchall():
        extract = str(extract)
        earlier = set()
        if dbt.is_incremental:
            earlier = {
                tuple(row)
                for row in session.execute(
                    "select service_code, extract_date::varchar, table_name, row_key, "
                    f"column_name from {dbt.this} "
                    "where service_code = ? and extract_date < ?::date",
                    [service, extract],
                ).fetchall()
            }
        cells = read_cells(session, "marts", service)
        cells = cells[cells.extract_date <= extract]
        identities = extract_identities(cells, catalogue)
        chosen = protect(cells, identities, rule, (service, extract), earlier)
        found += [(*cell, *protected[1:]) for cell, protected in sorted(chosen.items())]
    frame = pd.DataFrame(found, columns=COLUMNS, dtype="string")
    session.register("complementary_found", frame)
    return session.sql(
        "select service_code::varchar as service_code, extract_date::date as extract_date, "
        "table_name::varchar as table_name, row_key::varchar as row_key, "
        "column_name::varchar as column_name, "
        "protected_extract_date::date as protected_extract_date, "
        "protected_table_name::varchar as protected_table_name, "
        "protected_row_key::varchar as protected_row_key, "
        "protected_column_name::varchar as protected_column_name "
        "from complementary_found"
    )
