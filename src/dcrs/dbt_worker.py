"""dbt as ``dcrs run`` runs it: ``python -m dcrs.dbt_worker ARGS...`` is ``dbt ARGS...``,
started before it is needed.

The process imports dbt at once (about two seconds of CPU), then waits for one line on
standard input before it runs dbt with its arguments; the pipeline starts it before it
loads the export and writes the line when the database is ready, so that the import and
the load run side by side. End of input without a line means the run stopped before its
build: the process exits without running dbt.
"""

from __future__ import annotations

import atexit
import gc
import sys

# The line the pipeline writes when dbt may start.
GO = "build"


def main(arguments: list[str]) -> int:
    from dbt.cli.main import cli

    line = sys.stdin.readline()
    if line.strip() != GO:
        return 0
    # Leave the objects dbt made (its manifest, every node's context) to the operating
    # system at exit: Python's last garbage collection walks all of them, 0.6 s at exit on
    # the bundled sample for memory that is freed anyway.
    atexit.register(gc.freeze)
    # dbt's own entry point (bin/dbt): click exits with dbt's exit code
    cli.main(args=arguments, prog_name="dbt")
    return 0  # not reached: cli.main exits


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
