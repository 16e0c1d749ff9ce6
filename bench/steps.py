"""Time each step of one `dcrs run`, in this process: for comparing two versions of the
pipeline in alternating runs, where a whole run's time is too noisy to show a change.

    .venv/bin/python bench/steps.py [EXPORT_DIR] --warehouse NEW_FILE

Runs the pipeline as `dcrs run` does (pipeline.run), with a step runner that notes when
each step ended, and prints one line: how long each step took, and the whole run from the
start of this script (imports included). The warehouse should be a new file: a run on top
of an earlier one does other work.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402 (the clock starts before the imports, as a run's does)
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from dcrs import pipeline, settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", nargs="?", type=Path)
    parser.add_argument("--warehouse", type=Path, required=True)
    options = parser.parse_args()
    export = options.export or settings.project_dir() / settings.SAMPLE_EXPORT
    took: dict[str, float] = {}

    def step(name: str, function: Any, *arguments: Any, io: bool = False) -> Any:
        began = time.perf_counter()
        result = function(*arguments)
        took[name] = time.perf_counter() - began
        return result

    pipeline.run(export, options.warehouse, echo=lambda line: None, step=step)
    total = time.perf_counter() - STARTED
    steps = "; ".join(f"{name} {seconds:.2f} s" for name, seconds in took.items())
    print(f"{steps}; whole run {total:.2f} s")


if __name__ == "__main__":
    main()
