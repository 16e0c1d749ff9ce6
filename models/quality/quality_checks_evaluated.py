"""The Great Expectations suites of expectations/ (src/dcrs/quality.py), run on the
export being built through dbt's own connection: one row per check. The suites are read
from the project that dcrs.settings finds (DCRS_PROJECT_DIR, which `dcrs run` sets, else
the checkout); Data Docs are written to the folder the model's configuration names
(DCRS_DATA_DOCS_DIR).

The suites name their tables as schema.table (staging.stg_dcrs__clients,
marts.data_capture): the checks run with a search path that finds staging and
intermediate in the private store, where this model is built, and every other schema in
the warehouse (docs/private-store.md)."""

from pathlib import Path


def model(dbt, session):
    dbt.config(materialized="table")
    # the relations the suites read: refs, so that dbt runs this after them and shows
    # the lineage (the suites' SQL names them as schema.table)
    dbt.ref("stg_dcrs__clients")
    dbt.ref("stg_dcrs__goals")
    dbt.ref("stg_dcrs__wellbeing_scores")
    dbt.ref("stg_dcrs__health_trainers")
    dbt.ref("stg_dcrs__manifests")
    dbt.ref("stg_dcrs__export_files")
    dbt.ref("int_code_lists_keyed")
    dbt.ref("wellbeing_instruments")
    dbt.ref("data_capture")

    from dcrs.quality import evaluate_checks
    from dcrs.settings import project_dir

    data_docs = dbt.config.get("data_docs_dir")
    # fetchall: DuckDB 2.0 refuses further work on a connection with an unfinished result
    ((warehouse,),) = session.execute("select current_database()").fetchall()
    private = dbt.this.database
    return evaluate_checks(
        session,
        search_path=f"{warehouse}.main,{private}.staging,{private}.intermediate",
        expectations_dir=project_dir() / "expectations",
        variables={
            "bmi_min": dbt.config.get("bmi_min"),
            "bmi_max": dbt.config.get("bmi_max"),
        },
        data_docs_dir=Path(data_docs) if data_docs else None,
    )
