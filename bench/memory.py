"""Peak memory of one command's whole process tree, and the step running at the peak.

    DCRS_DUCKDB_MEMORY_LIMIT=300MB .venv/bin/python bench/memory.py -- \
        .venv/bin/dcrs run --export EXPORT_DIR --warehouse NEW_FILE

Runs the command with bench/run.py's ``measure`` (wall time, the tree's peak resident
memory summed over its processes, each program's own peak) and samples the tree twice a
second besides, so that it can say which program held the memory at the peak and the last
line the command printed before it (the step then running). Prints one JSON line;
``--log FILE`` keeps the command's timed output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402 (bench/run.py, beside this file)

SAMPLE_SECONDS = 0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, help="write the command's timed output here")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ...")
    options = parser.parse_args()
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        parser.error("no command given")

    samples: list[tuple[float, float, dict[str, float]]] = []
    stop = threading.Event()
    started = time.perf_counter()

    def sample() -> None:
        while not stop.is_set():
            sizes = bench.tree_rss(os.getpid(), include_root=False)
            by_program: dict[str, float] = {}
            for pid, size in sizes.items():
                name = bench._process_name(pid)
                by_program[name] = by_program.get(name, 0.0) + size / bench.MB
            samples.append(
                (time.perf_counter() - started, sum(sizes.values()) / bench.MB, by_program)
            )
            stop.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    measured = bench.measure(command, env=dict(os.environ))
    stop.set()
    sampler.join()

    if options.log:
        options.log.write_text("".join(f"{at:8.2f} {line}\n" for at, line in measured.output))
    at, total, by_program = max(samples, key=lambda entry: entry[1], default=(0.0, 0.0, {}))
    before = [line for seconds, line in measured.output if seconds <= at]
    print(
        json.dumps(
            {
                "command": " ".join(command),
                "memory_limit": os.environ.get("DCRS_DUCKDB_MEMORY_LIMIT"),
                "returncode": measured.returncode,
                "wall_seconds": round(measured.wall_seconds, 1),
                "tree_peak_mb": round(measured.tree_peak_mb),
                "largest_process_mb": round(measured.largest_process_mb),
                "process_peaks_mb": {k: round(v) for k, v in measured.process_peaks_mb.items()},
                "sampled_peak": {
                    "seconds": round(at, 1),
                    "mb": round(total),
                    "by_program_mb": {k: round(v) for k, v in by_program.items()},
                    "last_line_before": before[-1][:160] if before else None,
                },
                "load_average_at_start": round(measured.load_average, 2),
            }
        )
    )
    return measured.returncode


if __name__ == "__main__":
    sys.exit(main())
