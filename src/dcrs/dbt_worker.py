"""dbt as ``dcrs run`` runs it, in a process started before it is needed:
``python -m dcrs.dbt_worker ARGS...`` builds the models, then runs every data test, with
dbt's options ARGS (project and profile folders, target path, logging).

1. At once, before the database is ready: import dbt and load the project from dbt's
   saved parse (about 2 s of CPU on the bundled sample). The pipeline starts this process
   before it loads the export, so both run side by side.
2. Wait for one line on standard input, ``GO``. End of input (or another line) means
   the run stopped before its build: the process exits without touching the database.
3. ``dbt build`` of the seeds and models, without the data tests, read-write.
4. Close the database and print ``MODELS_BUILT``: from then on, other processes may
   open the database read-only (the pipeline's quality checks do, side by side with 5).
5. ``dbt test``: every data test, through the profile's read-only target.

The exit code is 0 when both dbt commands succeeded, 1 when one failed (its output says
why; without ``MODELS_BUILT``, the build failed and no test ran).

The tests run after every model, not between them as in a single ``dbt build``: a model
downstream of a failing test is still built, and the run still fails and publishes
nothing. Every data test runs as before.
"""

from __future__ import annotations

import atexit
import gc
import sys
from typing import Any

# The line the pipeline writes when dbt may build.
GO = "build"
# The line this process prints when the models are built and the database is closed.
MODELS_BUILT = "dcrs: models built, database closed; running the data tests"
# profiles.yml: the warehouse target opened read-only, for the data tests.
READ_ONLY_TARGET = "warehouse_read_only"

BUILD_MODELS = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
# unit tests check the SQL, not the export: they run with the test suite
TEST_MODELS = ["test", "--exclude-resource-type", "unit_test", "--target", READ_ONLY_TARGET]


def _succeeded(result: Any) -> bool:
    if result.exception is not None:  # dbt's own messages do not always say it
        print(f"dbt stopped with an error: {result.exception}", flush=True)
    return bool(result.success)


def close_database() -> None:
    """Close dbt-duckdb's database, which it keeps open for the life of the process (its
    ``keep_open``, the default): DuckDB lets no other process open a file that one
    process has open read-write. Turning ``keep_open`` off in the profile instead made
    dbt open and close the file around every node, a second more on the sample."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    DuckDBConnectionManager.close_all_connections()  # forgets it; does not close it
    if environment is not None:
        environment.close()


def main(arguments: list[str]) -> int:
    from dbt.cli.main import dbtRunner

    parsed = dbtRunner().invoke(["parse", "--quiet", *arguments])
    if not _succeeded(parsed):
        return 1
    manifest = parsed.result
    if sys.stdin.readline().strip() != GO:
        return 0
    # Leave the objects dbt made (its manifest, every node's context) to the operating
    # system at exit: Python's last garbage collection walks all of them, 0.6 s at exit on
    # the bundled sample for memory that is freed anyway.
    atexit.register(gc.freeze)
    built = dbtRunner(manifest=manifest).invoke([*BUILD_MODELS, *arguments])
    close_database()
    if not _succeeded(built):
        return 1
    print(MODELS_BUILT, flush=True)
    tested = dbtRunner(manifest=manifest).invoke([*TEST_MODELS, *arguments])
    return 0 if _succeeded(tested) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
