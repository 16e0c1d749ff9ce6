"""dbt as ``dcrs run`` runs it, in a process started before it is needed:
``python -m dcrs.dbt_worker ARGS...`` builds the models, then runs every data test, with
dbt's options ARGS (project and profile folders, target path, logging).

1. At once, before the database is ready: import dbt and load the project from dbt's
   saved parse (about 2 s of CPU on the bundled sample). The pipeline starts this process
   before it loads the export, so both run side by side.
2. Wait for one line on standard input: ``GO``, or ``GO N`` to run the data tests in N
   processes. End of input (or another line) means the run stopped before its build: the
   process exits without touching the database.
3. ``dbt build`` of the seeds and models, without the data tests, read-write.
4. Close the database and print ``MODELS_BUILT``: from then on, other processes may
   open the database read-only (the pipeline's quality checks do, side by side with 5).
5. ``dbt test``: every data test, through the profile's read-only target. With ``GO N``,
   the process forks N - 1 copies of itself, each with dbt imported and the project
   loaded, and each of the N runs every N-th data test (``split_tests``). dbt's own
   Python holds the GIL through nearly all of a test on a small export, so its threads
   share one core; processes use them all.

The exit code is 0 when both dbt commands succeeded (with ``GO N``, every part of the
tests), 1 when one failed (its output says why; without ``MODELS_BUILT``, the build failed
and no test ran).

The tests run after every model, not between them as in a single ``dbt build``: a model
downstream of a failing test is still built, and the run still fails and publishes
nothing. Every data test runs as before.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import os
import signal
import sys
import traceback
from typing import Any

# The line the pipeline writes when dbt may build.
GO = "build"
# The line this process prints when the models are built and the database is closed.
MODELS_BUILT = "dcrs: models built, database closed; running the data tests"
# prctl(2): the option that sets the signal a process gets when its parent ends.
PR_SET_PDEATHSIG = 1
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


def split_tests(manifest: Any, parts: int) -> list[list[str]]:
    """The project's data tests in ``parts`` lists of names that together hold each test
    once: every ``parts``-th test in the order of their ids, so each list has tests of
    every model and kind."""
    names = [
        node.name for _, node in sorted(manifest.nodes.items()) if node.resource_type == "test"
    ]
    return [names[part::parts] for part in range(parts)]


def run_tests(manifest: Any, arguments: list[str], processes: int) -> bool:
    """Every data test, in ``processes`` processes: this one and forks of it (the data
    tests only read the database, and the models' connection is closed)."""
    if processes <= 1:
        return _test(manifest, arguments)
    parts = split_tests(manifest, processes)
    print(
        f"dcrs: running the {sum(map(len, parts))} data tests in {processes} processes "
        f"({', '.join(str(len(part)) for part in parts)})",
        flush=True,
    )
    sys.stderr.flush()  # a fork must not write what this process had not written yet
    parent = os.getpid()
    children = []
    for part in parts[1:]:
        child = os.fork()
        if child == 0:  # a copy of this process: run its part, then leave at once
            _end_with(parent)
            try:
                code = 0 if _test(manifest, arguments, part) else 1
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        children.append(child)
    succeeded = _test(manifest, arguments, parts[0])
    for child in children:
        _, status = os.waitpid(child, 0)
        succeeded = succeeded and os.waitstatus_to_exitcode(status) == 0
    return succeeded


def _end_with(parent: int) -> None:
    """Have Linux end this fork when dbt's process ends (the pipeline ends it when a run
    stops early), so that no fork goes on testing alone."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: it ends with its part
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # dbt's process ended before that took hold
        os._exit(1)


def _test(manifest: Any, arguments: list[str], names: list[str] | None = None) -> bool:
    """``dbt test``: every data test, or those named (none named: nothing to run)."""
    if names is None:
        selection = []
    elif names:
        selection = ["--select", *names]
    else:
        return True
    return _succeeded(_runner(manifest).invoke([*TEST_MODELS, *selection, *arguments]))


def _runner(manifest: Any) -> Any:
    from dbt.cli.main import dbtRunner

    return dbtRunner(manifest=manifest)


def main(arguments: list[str]) -> int:
    parsed = _runner(None).invoke(["parse", "--quiet", *arguments])
    if not _succeeded(parsed):
        return 1
    manifest = parsed.result
    cue = sys.stdin.readline().split()
    if not cue or cue[0] != GO or len(cue) > 2 or not all(word.isdigit() for word in cue[1:]):
        return 0
    processes = int(cue[1]) if len(cue) == 2 else 1
    # Leave the objects dbt made (its manifest, every node's context) to the operating
    # system at exit: Python's last garbage collection walks all of them, 0.6 s at exit on
    # the bundled sample for memory that is freed anyway.
    atexit.register(gc.freeze)
    built = _runner(manifest).invoke([*BUILD_MODELS, *arguments])
    close_database()
    if not _succeeded(built):
        return 1
    print(MODELS_BUILT, flush=True)
    return 0 if run_tests(manifest, arguments, processes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
