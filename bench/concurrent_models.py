"""Build compiled models at the same time in one DuckDB database, as dbt did with two
threads (profiles.yml now runs one), under a memory limit: does a pair of queries that
each spill alone run out of memory side by side?

    .venv/bin/python bench/concurrent_models.py COPY_OF_WAREHOUSE.duckdb 150MB \
        target/compiled/dcrs/models/intermediate/int_goal_rows_triaged.sql \
        target/compiled/dcrs/models/intermediate/int_wellbeing_score_rows_triaged.sql \
        --delay 0.3 --runs 6

Each SQL file (dbt's compiled model) is written into a scratch table (main.scratch_N) by
its own cursor of one connection, the second started --delay seconds after the first.
Work on a copy of a built warehouse: its file must be named as dbt's database
(dcrs.duckdb), which the compiled SQL names. Prints, per run, each model's outcome and
seconds; with --runs, how many runs had an out-of-memory error.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

import duckdb


def run_once(database: Path, limit: str, files: list[Path], delay: float) -> list[str]:
    outcomes: list[str] = [""] * len(files)
    with duckdb.connect(
        str(database), config={"memory_limit": limit, "preserve_insertion_order": False}
    ) as con:

        def build(index: int, path: Path) -> None:
            time.sleep(index * delay)
            cursor = con.cursor()
            cursor.execute("set enable_progress_bar = false")
            started = time.perf_counter()
            try:
                cursor.execute(
                    f"create or replace table main.scratch_{index} as {path.read_text()}"
                )
                outcome = "ok"
            except duckdb.Error as error:
                outcome = "ERROR " + str(error).splitlines()[0]
            outcomes[index] = f"{path.stem}: {outcome} ({time.perf_counter() - started:.2f} s)"

        threads = [
            threading.Thread(target=build, args=(index, path)) for index, path in enumerate(files)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("limit", help="DuckDB memory_limit, e.g. 150MB")
    parser.add_argument("files", type=Path, nargs="+", help="compiled model SQL")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=1)
    options = parser.parse_args()
    failed = 0
    for run in range(1, options.runs + 1):
        outcomes = run_once(options.database, options.limit, options.files, options.delay)
        failed += any("ERROR" in outcome for outcome in outcomes)
        print(f"run {run}: " + "; ".join(outcomes))
    print(f"{failed} of {options.runs} runs had an error at {options.limit}")


if __name__ == "__main__":
    main()
