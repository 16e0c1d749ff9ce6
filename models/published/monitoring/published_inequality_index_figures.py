"""The slope and relative indices of inequality of published.inequality_indices, computed
(dcrs.inequality_methods.inequality_indices, as marts.inequality_indices) from the
controlled counts of published.inequalities for the extract being built, never from the
true ones: the indices of the true quintile counts, at full precision, are functions of
them that the attacker could invert (docs/disclosure.md). Withheld, besides the marts'
reasons, when a quintile's count is suppressed. Built in schema audit, replaced by each
run; published.inequality_indices keeps every extract."""


def model(dbt, session):
    dbt.config(materialized="table", schema="audit", contract={"enforced": False})
    manifest = dbt.ref("stg_dcrs__manifests").df()[["service_code", "extract_date"]]
    rows = (
        dbt.ref("published_inequalities").df().merge(manifest, on=["service_code", "extract_date"])
    )

    from dcrs.inequality_methods import inequality_indices

    return inequality_indices(
        rows,
        int(dbt.config.get("min_records")),
        int(dbt.config.get("repetitions")),
        int(dbt.config.get("random_seed")),
    )
