"""Time each step of one `dcrs run`, in this process: for comparing two versions of the
pipeline in alternating runs, where a whole run's time is too noisy to show a change.

    .venv/bin/python bench/steps.py [EXPORT_DIR] --warehouse NEW_FILE

Runs the pipeline as `dcrs run` does (pipeline.run), with a step runner that notes when
each step ended, and prints one line: when the models were built, how long
the data tests took after that (on exports under 100,000 rows the quality checks run beside
them), and the whole run from the start of this script (imports included). The warehouse
should be a new file: a run on top of an earlier one does other work.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402 (the clock starts before the imports, as a run's does)
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from dcrs import pipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", nargs="?", type=Path, default=pipeline.DEFAULT_EXPORT)
    parser.add_argument("--warehouse", type=Path, required=True)
    options = parser.parse_args()
    ended: dict[str, float] = {}

    def step(name: str, function: Any, *arguments: Any, io: bool = False) -> Any:
        result = function(*arguments)
        ended[name] = time.perf_counter() - STARTED
        return result

    pipeline.run(options.export, options.warehouse, echo=lambda line: None, step=step)
    total = time.perf_counter() - STARTED
    models = ended["build models"]
    print(
        f"models built at {models:.2f} s; data tests {ended['test models'] - models:.2f} s "
        f"after that; whole run {total:.2f} s"
    )


if __name__ == "__main__":
    main()
