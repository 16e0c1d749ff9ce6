"""Benchmark: the full pipeline against a hand-written floor and plain pandas, by size.

    .venv/bin/python bench/run.py                       # 10k, 100k and 1M clients
    .venv/bin/python bench/run.py --sizes 10000 100000  # quicker
    .venv/bin/python bench/run.py --sizes 1000000 10000000 --skip-pandas  # 10M: optional
    .venv/bin/python bench/run.py --help

For each size it generates one synthetic export (one service, one month; src/dcrs/generate.py)
and times, each in a fresh process, with its peak memory:

- the full pipeline, ``dcrs run --export EXPORT --warehouse NEW_FILE``;
- the floor, ``bench/floor.py`` (bench/floor.sql: the same marts.measure_breakdown in one
  DuckDB SQL script: no dbt, no tests, no checks);
- plain pandas, ``bench/pandas_breakdown.py``;

then checks that all three computed the same measure_breakdown (every row: n, denominator,
percent, interval, benchmark, comparison). At 1M clients it runs the pipeline once more
with DuckDB's memory limit at 300MB (it must complete, spilling to disk). It times
``dcrs run`` on the bundled sample, cold. It prints one table with the targets beside the
results, where the pipeline's time goes, and writes everything measured to
bench/results/<UTC time>.json. Read bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from dcrs import settings
from dcrs.generate import generate

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent

PYTHON = Path(sys.executable)
DCRS = PYTHON.with_name("dcrs")
SAMPLE_EXPORT = ROOT / "data" / "sample" / "kc-2010-08-31"
GNU_TIME = Path("/usr/bin/time")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05
MB = 1024 * 1024

# Targets (issue "A simpler engine"): printed beside the results. At 1M clients the ratio
# to the floor is reported, not judged.
TARGET_SIZE = 1_000_000
TARGET_PIPELINE_PEAK_MB = 1024
TARGET_LOW_MEMORY_LIMIT = "300MB"  # 1M clients must complete under this DuckDB limit
LARGE_SIZE = 10_000_000
TARGET_LARGE_PEAK_MB = 4096
TARGET_LARGE_PER_CLIENT_RATIO = 1.5  # time per client at 10M within 1.5x of 1M's
TARGET_SAMPLE_SECONDS = 15.0
TARGET_INCREMENTAL_SHARE = 0.25
# pandas holds everything in memory: above this size it is not run
PANDAS_MAX_CLIENTS = 1_000_000
VERIFY_TOLERANCE = 1e-9

# Without GNU time: a short-lived wrapper that runs the command and reports its own
# children's maximum resident set (ru_maxrss of RUSAGE_CHILDREN is the largest of all
# children so far, so each measured command needs its own wrapper process).
RUSAGE_WRAPPER = """
import resource, subprocess, sys, time
out, command = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
code = subprocess.call(command)
wall = time.perf_counter() - start
with open(out, "w") as handle:
    handle.write(f"{wall:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.exit(code)
"""


# ------------------------------------------------------------------------------------------
# Measuring one command in a fresh process
# ------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(child) for child in f.read().split())
    return found


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def _process_name(pid: int) -> str:
    """'dcrs', 'dbt', 'floor.py', ...: the program, or the script python runs."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            arguments = [
                Path(part.decode(errors="replace")).name for part in handle.read().split(b"\0")
            ]
    except OSError:
        return "?"
    arguments = [argument for argument in arguments if argument]
    if not arguments:
        return "?"
    if arguments[0].startswith("python"):
        if arguments[1] == "-c" and "dbt.cli.main" in arguments[2]:
            return "dbt"  # dbt, as `dcrs run` starts it (src/dcrs/build.py)
        return arguments[1] if len(arguments) > 1 and not arguments[1].startswith("-") else "python"
    return arguments[0]


def tree_rss(root: int, include_root: bool) -> dict[int, int]:
    """Resident memory of each process of a tree (from /proc): {pid: bytes}."""
    sizes, pending, seen = {}, [root], set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        if pid != root or include_root:
            sizes[pid] = _rss_bytes(pid)
        pending.extend(_children(pid))
    return sizes


@dataclass
class Measurement:
    command: list[str]
    returncode: int
    wall_seconds: float
    tree_peak_mb: float  # sum over the process tree, sampled every SAMPLE_SECONDS
    largest_process_mb: float  # ru_maxrss: the largest single process of the tree
    process_peaks_mb: dict[str, float]  # sampled peak of each program in the tree
    load_average: float  # of the machine (1 minute) when the command started: others' work
    output: list[tuple[float, str]] = field(default_factory=list)  # (seconds, line)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def text(self) -> str:
        return "\n".join(line for _, line in self.output)


def _peaks_by_name(by_pid: dict[int, int], names: dict[int, str]) -> dict[str, float]:
    peaks: dict[str, float] = {}
    for pid, size in by_pid.items():
        name = names.get(pid, "?")
        peaks[name] = max(peaks.get(name, 0.0), size / MB)
    return dict(sorted(peaks.items(), key=lambda item: item[1], reverse=True))


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run ``command`` in a fresh process tree; wall time, peak memory, timed output."""
    with tempfile.NamedTemporaryFile(prefix="dcrs-bench-time-", delete=False) as handle:
        time_file = handle.name
    if GNU_TIME.exists():
        argv = [str(GNU_TIME), "-o", time_file, "-f", "%e %M", *command]
    else:
        argv = [str(PYTHON), "-c", RUSAGE_WRAPPER, time_file, *command]
    peak = 0
    load_average = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    stop = threading.Event()

    by_pid: dict[int, int] = {}
    names: dict[int, str] = {}

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            sizes = tree_rss(process.pid, include_root=False)
            peak = max(peak, sum(sizes.values()))
            for pid, size in sizes.items():
                name = _process_name(pid)  # again each time: a fork execs later
                if name != "?":  # '?': it has just exited
                    names[pid] = name
                by_pid[pid] = max(by_pid.get(pid, 0), size)
            stop.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append((time.perf_counter() - started, line.rstrip("\n")))
    returncode = process.wait()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    largest_kb = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        largest_kb = float(Path(time_file).read_text().split()[-1])
    Path(time_file).unlink(missing_ok=True)
    return Measurement(
        command=[str(part) for part in command],
        returncode=returncode,
        wall_seconds=wall,
        tree_peak_mb=max(peak / MB, largest_kb / 1024),
        largest_process_mb=largest_kb / 1024,
        process_peaks_mb=_peaks_by_name(by_pid, names),
        load_average=load_average,
        output=output,
    )


# ------------------------------------------------------------------------------------------
# Where the pipeline's time goes (from its timed output)
# ------------------------------------------------------------------------------------------

NODE_LINE = re.compile(
    r"\d+ of \d+ (?:OK|PASS|FAIL|ERROR|WARN|NO-OP|SKIP) (?P<what>.+?) +\.* *"
    r"\[(?P<result>[^\]]*?) in (?P<seconds>[\d.]+)s\]"
)
TOOLS = ["pipeline", "floor", "pandas"]
PHASE_LABELS = {
    "start": "process start-up and imports",
    "load": "load CSVs into raw (Python + DuckDB)",
    "dbt": "dbt start-up and parsing",
    "dbt_nodes": "dbt build: seeds, models, tests, GX",
    "dbt_done": "dbt wrap-up, reports, Parquet, release",
    "published": "summary and process exit",
}
FINISHED_LINE = re.compile(r"Finished running .* in .*\((?P<seconds>[\d.]+)s\)")
# the progress lines that start each phase, first seen
PHASE_STARTS = {
    "load": "Loading export",
    "dbt": "(dbt build)",
    "dbt_nodes": "Concurrency:",
    "published": "Published ",
}


def _node_kind(what: str) -> str:
    if what.startswith("loaded seed"):
        return "seeds"
    if what.startswith("created sql view"):
        return "view models"
    if what.startswith("created sql"):
        return "table models"
    if what.startswith("exposure"):
        return "exposures"
    return "data tests"


def pipeline_phases(run: Measurement) -> dict[str, object]:
    """Split a `dcrs run` into phases by the moments its progress lines appeared."""
    moments: dict[str, float] = {}
    nodes: list[tuple[str, float]] = []
    dbt_execution: list[float] = []  # dbt's own figure for the models, then the tests
    for seconds, line in run.output:
        for phase, start in PHASE_STARTS.items():
            if phase not in moments and start in line:
                moments[phase] = seconds
        if match := FINISHED_LINE.search(line):
            moments.setdefault("dbt_done", seconds)
            dbt_execution.append(float(match["seconds"]))
        elif match := NODE_LINE.search(line):
            nodes.append((match["what"], float(match["seconds"])))
    order = ["start", "load", "dbt", "dbt_nodes", "dbt_done", "published", "end"]
    moments["start"], moments["end"] = 0.0, run.wall_seconds
    present = [name for name in order if name in moments]
    # a failed run has the phases it reached; the last one runs until the process ended
    phases = {
        PHASE_LABELS[name]: moments[following] - moments[name]
        for name, following in zip(present[:-1], present[1:], strict=True)
    }
    by_kind: dict[str, float] = {}
    for what, seconds in nodes:
        by_kind[_node_kind(what)] = by_kind.get(_node_kind(what), 0.0) + seconds
    slowest = sorted(nodes, key=lambda node: node[1], reverse=True)[:5]
    failures = [line.strip() for _, line in run.output if "Failure in" in line] + [
        line.strip() for _, line in run.output if "ERROR" in line and "SKIP" not in line
    ]
    return {
        # the phases a successful run should have had but whose lines were not found:
        # printed, as the breakdown is wrong when the pipeline's progress lines change
        "missing_phases": [name for name in order if run.ok and name not in moments],
        "phases": phases,
        "failures": failures[:5],
        "dbt_execution_seconds": sum(dbt_execution) if dbt_execution else None,
        "dbt_node_seconds_by_kind": by_kind,
        "dbt_nodes": len(nodes),
        "slowest_nodes": slowest,
        "full_parse": any("Unable to do partial parsing" in line for _, line in run.output),
    }


# ------------------------------------------------------------------------------------------
# Do the three compute the same thing?
# ------------------------------------------------------------------------------------------

BREAKDOWN_COLUMNS = (
    "service_code",
    "extract_date",
    "measure_id",
    "category",
    "category_order",
    "n",
    "denominator",
    "percent",
    "ci_lower",
    "ci_upper",
    "benchmark_name",
    "benchmark_percent",
    "comparison",
)
FLOATS = {"percent", "ci_lower", "ci_upper", "benchmark_percent"}
INTEGERS = {"category_order", "n", "denominator"}


def _typed(column: str, value: object) -> object:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if column in FLOATS:
        return float(value)
    if column in INTEGERS:
        return int(float(value))
    return str(value)


def _rows(con: duckdb.DuckDBPyConnection, relation: str) -> dict[tuple, dict[str, object]]:
    cursor = con.execute(f"select {', '.join(BREAKDOWN_COLUMNS)} from {relation}")
    rows = {}
    for values in cursor.fetchall():
        row = {
            column: _typed(column, value)
            for column, value in zip(BREAKDOWN_COLUMNS, values, strict=True)
        }
        rows[(row["measure_id"], row["category"])] = row
    return rows


def read_breakdown(path: Path, relation: str | None = None) -> dict[tuple, dict[str, object]]:
    """measure_breakdown rows keyed by (measure_id, category), from a DuckDB file or a CSV."""
    if path.suffix == ".csv":
        with duckdb.connect() as con:
            table = f"read_csv('{path}', header = true, all_varchar = true)"
            return _rows(con, table)
    with duckdb.connect(str(path), read_only=True) as con:
        return _rows(con, relation or "measure_breakdown")


def differences(expected: dict, actual: dict, limit: int = 10) -> list[str]:
    found = []
    for key in sorted(set(expected) | set(actual), key=str):
        if key not in actual:
            found.append(f"{key}: missing")
            continue
        if key not in expected:
            found.append(f"{key}: not in the pipeline's breakdown")
            continue
        for column in BREAKDOWN_COLUMNS:
            left, right = expected[key][column], actual[key][column]
            if column in FLOATS and left is not None and right is not None:
                same = abs(left - right) <= VERIFY_TOLERANCE
            else:
                same = left == right
            if not same:
                found.append(f"{key} {column}: {left!r} vs {right!r}")
    return found[:limit] + ([f"... {len(found) - limit} more"] if len(found) > limit else [])


# ------------------------------------------------------------------------------------------
# The runs
# ------------------------------------------------------------------------------------------


def run_size(clients: int, workdir: Path, args: argparse.Namespace) -> dict[str, object]:
    here = workdir / f"clients-{clients}"
    here.mkdir(parents=True, exist_ok=True)
    print(f"\n== {clients:,} clients", flush=True)
    started = time.perf_counter()
    # the newest export holds every client (exports are cumulative)
    months = args.months
    export = generate(here / "export", clients, services=1, months=months, seed=args.seed)[-1]
    generated = time.perf_counter() - started
    manifest = json.loads((export / "manifest.json").read_text())
    print(f"   generated {export} in {generated:.1f} s: {manifest['row_counts']}", flush=True)
    result: dict[str, object] = {
        "clients": clients,
        "export": str(export),
        "row_counts": manifest["row_counts"],
        "generate_seconds": generated,
    }
    outputs: dict[str, Path] = {}
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    steps = []
    if not args.skip_pipeline:
        warehouse = here / "warehouse.duckdb"
        steps.append(
            ("pipeline", [str(DCRS), "run", "--export", str(export), "--warehouse", str(warehouse)])
        )
        outputs["pipeline"] = warehouse
    if not args.skip_floor:
        database = here / "floor.duckdb"
        steps.append(
            (
                "floor",
                [str(PYTHON), str(BENCH / "floor.py"), str(export), "--database", str(database)],
            )
        )
        outputs["floor"] = database
    if not args.skip_pandas and clients <= PANDAS_MAX_CLIENTS:
        csv_path = here / "pandas_breakdown.csv"
        steps.append(
            (
                "pandas",
                [
                    str(PYTHON),
                    str(BENCH / "pandas_breakdown.py"),
                    str(export),
                    "--out",
                    str(csv_path),
                ],
            )
        )
        outputs["pandas"] = csv_path
    for name, command in steps:
        print(f"   {name}: running ...", end="", flush=True)
        measured = measure(command, env=env)
        print(
            f" {measured.wall_seconds:.1f} s, peak {measured.tree_peak_mb:,.0f} MB"
            + ("" if measured.ok else f"  FAILED (exit {measured.returncode})"),
            flush=True,
        )
        entry = asdict(measured)
        entry.pop("output")
        entry["output_tail"] = [line for _, line in measured.output[-15:]]
        if name == "pipeline":
            entry["breakdown"] = pipeline_phases(measured)
            entry["rows_rejected_0"] = "rows rejected 0," in measured.text()
        result[name] = entry
        if not measured.ok:
            outputs.pop(name, None)
            print("\n".join(f"      {line}" for _, line in measured.output[-15:]))
    result["verification"] = verify(outputs)
    if clients == TARGET_SIZE and not args.skip_pipeline and not args.skip_low_memory:
        limit = TARGET_LOW_MEMORY_LIMIT
        print(f"   pipeline at DuckDB memory limit {limit}: running ...", end="", flush=True)
        low = measure(
            [
                str(DCRS),
                "run",
                "--export",
                str(export),
                "--warehouse",
                str(here / "warehouse-low-memory.duckdb"),
            ],
            env={**env, settings.MEMORY_LIMIT_VARIABLE: limit},
        )
        print(
            f" {low.wall_seconds:.1f} s, peak {low.tree_peak_mb:,.0f} MB"
            + ("" if low.ok else f"  FAILED (exit {low.returncode})"),
            flush=True,
        )
        entry = asdict(low)
        entry.pop("output")
        entry["output_tail"] = [line for _, line in low.output[-15:]]
        entry["memory_limit"] = limit
        result["pipeline_low_memory"] = entry
    return result


def verify(outputs: dict[str, Path]) -> dict[str, object]:
    """Compare each result with the pipeline's (or, without it, pandas with the floor)."""
    tables = {}
    for name, path in outputs.items():
        relation = "marts.measure_breakdown" if name == "pipeline" else None
        tables[name] = read_breakdown(path, relation)
    reference = "pipeline" if "pipeline" in tables else "floor" if "floor" in tables else None
    checks = {}
    for name, rows in tables.items():
        if reference is None or name == reference:
            continue
        checks[f"{name} = {reference}"] = differences(tables[reference], rows)
    agree = bool(checks) and all(not found for found in checks.values())
    return {
        "reference": reference,
        "rows": {name: len(rows) for name, rows in tables.items()},
        "differences": checks,
        "agree": agree,
    }


def speed_probe() -> float:
    """Seconds to import dbt in a fresh Python process: Python work of the kind that
    dominates a run on the sample. This machine's CPUs are shared with other machines, and
    the same import takes 1.3-3 s depending on the moment. Printed beside each sample run,
    so that a slow run can be told from a slow moment."""
    started = time.perf_counter()
    subprocess.run([str(PYTHON), "-c", "import dbt.cli.main"], check=True)
    return time.perf_counter() - started


def run_sample(workdir: Path, runs: int) -> dict[str, object]:
    """`dcrs run` on the bundled sample, ``runs`` times, each in a fresh process into a new
    warehouse: the machine's noise is a second or more, so one run says little. The entry
    is the median run's, with every run's wall time."""
    print(f"\n== bundled sample, cold (fresh process, new warehouse), {runs} runs", flush=True)
    measured = []
    probes = []
    for run in range(1, runs + 1):
        probes.append(speed_probe())
        warehouse = workdir / "sample" / f"run-{run}" / "warehouse.duckdb"
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        measurement = measure(
            [str(DCRS), "run", "--export", str(SAMPLE_EXPORT), "--warehouse", str(warehouse)],
            env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
        )
        print(
            f"   run {run}: {measurement.wall_seconds:.1f} s, "
            f"peak {measurement.tree_peak_mb:,.0f} MB (speed probe before it: {probes[-1]:.1f} s)",
            flush=True,
        )
        measured.append(measurement)
    by_time = sorted(measured, key=lambda measurement: measurement.wall_seconds)
    median = by_time[(len(by_time) - 1) // 2]
    entry = asdict(median)
    entry.pop("output")
    entry["breakdown"] = pipeline_phases(median)
    entry["runs_wall_seconds"] = [measurement.wall_seconds for measurement in measured]
    entry["runs_failed"] = sum(not measurement.ok for measurement in measured)
    entry["speed_probe_seconds"] = probes
    return entry


def measure_incremental(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    """One new month on top of a year of history, beside a full rebuild.

    Generates ``--history-months`` + 1 cumulative monthly exports of one service (the last
    holds ``--incremental-clients`` clients) and loads them in order into one warehouse,
    timing every run. The last run is the incremental month: a warehouse with a year of
    history takes one more export. A full rebuild of that warehouse from nothing loads every
    export in order, so its time is the sum of all the runs. Beside them: the last export
    run alone into an empty warehouse, which shows what the history itself adds to a run.
    """
    clients, history = args.incremental_clients, args.history_months
    here = workdir / f"incremental-{clients}"
    here.mkdir(parents=True, exist_ok=True)
    print(f"\n== incremental month: {history} months of history + 1, {clients:,} clients")
    started = time.perf_counter()
    exports = generate(here / "export", clients, services=1, months=history + 1, seed=args.seed)
    print(f"   generated {len(exports)} exports in {time.perf_counter() - started:.1f} s")
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    warehouse = here / "warehouse.duckdb"
    runs: list[dict[str, object]] = []
    for export in exports:
        counts = json.loads((export / "manifest.json").read_text())["row_counts"]
        print(f"   load {export.name} ({counts['clients.csv']:,} clients) ...", end="", flush=True)
        measured = measure(
            [str(DCRS), "run", "--export", str(export), "--warehouse", str(warehouse)], env=env
        )
        print(
            f" {measured.wall_seconds:.1f} s, peak {measured.tree_peak_mb:,.0f} MB"
            + ("" if measured.ok else f"  FAILED (exit {measured.returncode})"),
            flush=True,
        )
        runs.append(
            {
                "extract": export.name,
                "clients": counts["clients.csv"],
                "wall_seconds": measured.wall_seconds,
                "tree_peak_mb": measured.tree_peak_mb,
                "returncode": measured.returncode,
                "output_tail": [line for _, line in measured.output[-15:]],
            }
        )
        if not measured.ok:
            print("\n".join(f"      {line}" for _, line in measured.output[-15:]))
            return {"measured": False, "reason": f"the run of {export.name} failed", "runs": runs}
    alone_warehouse = here / "alone.duckdb"
    print(f"   {exports[-1].name} alone, into an empty warehouse ...", end="", flush=True)
    alone = measure(
        [str(DCRS), "run", "--export", str(exports[-1]), "--warehouse", str(alone_warehouse)],
        env=env,
    )
    print(f" {alone.wall_seconds:.1f} s, peak {alone.tree_peak_mb:,.0f} MB", flush=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        extracts = con.execute("select count(*) from history.loaded_extracts").fetchone()[0]
        changes = dict(
            con.execute(
                "select entity || ' ' || change_type, records from marts.record_changes "
                "where extract_date = ?::date",
                [exports[-1].name],
            ).fetchall()
        )
    last = f"(select * from marts.measure_breakdown where extract_date = '{exports[-1].name}')"
    agree = not differences(
        read_breakdown(alone_warehouse, "marts.measure_breakdown"),
        read_breakdown(warehouse, last),
    )
    return {
        "measured": True,
        "clients": clients,
        "history_months": history,
        "runs": runs,
        "incremental": runs[-1],
        "full_rebuild_seconds": sum(run["wall_seconds"] for run in runs),
        "full_rebuild_peak_mb": max(run["tree_peak_mb"] for run in runs),
        "alone": {
            "wall_seconds": alone.wall_seconds,
            "tree_peak_mb": alone.tree_peak_mb,
            "returncode": alone.returncode,
        },
        "extracts_kept": extracts,
        "last_month_changes": changes,
        "last_extract_equals_run_alone": agree,
    }


# ------------------------------------------------------------------------------------------
# Printing
# ------------------------------------------------------------------------------------------


def _seconds(entry: dict | None) -> str:
    if not entry:
        return "-"
    return f"{entry['wall_seconds']:.1f} s" + ("" if entry["returncode"] == 0 else "*")


def _memory(entry: dict | None) -> str:
    return "-" if not entry else f"{entry['tree_peak_mb']:,.0f} MB"


def _ratio(over: dict | None, under: dict | None) -> str:
    if not over or not under or not under["wall_seconds"]:
        return "-"
    return f"{over['wall_seconds'] / under['wall_seconds']:.1f}x"


def _compared(size: dict) -> str:
    return " = ".join(sorted(size["verification"]["rows"], key=TOOLS.index))


def print_report(results: dict) -> None:
    machine = results["machine"]
    print("\n" + "=" * 100)
    print(
        f"DCRS benchmark {results['started']}  ({machine['cpus']} CPUs, "
        f"{machine['memory_gb']:.0f} GB, Python {machine['python']}, duckdb {machine['duckdb']}, "
        f"commit {machine['commit']}, DuckDB memory limit {machine['duckdb_memory_limit']})"
    )
    months = int(results["arguments"]["months"])
    print(
        f"One generated export per size (one service, {months} month"
        f"{'' if months == 1 else 's'} of registrations); each command a fresh process."
    )
    print("Peak = resident memory summed over the process tree (sampled every 50 ms).")
    loads = [
        entry["load_average"]
        for entry in [
            *(
                size.get(name)
                for size in results["sizes"]
                for name in ("pipeline", "floor", "pandas")
            ),
            results.get("sample"),
        ]
        if entry
    ]
    if loads:
        print(
            f"Machine load (1-min average) as each command started: {min(loads):.1f} to "
            f"{max(loads):.1f} on {machine['cpus']} CPUs"
            + (
                "  -- busy: other work shared the CPUs, times are inflated"
                if max(loads) > 1
                else ""
            )
        )
    print()
    header = (
        f"{'clients':>10} {'goals':>10} {'generate':>9} | {'pipeline':>9} {'peak':>9} | "
        f"{'floor':>7} {'peak':>8} | {'pandas':>7} {'peak':>9} | {'pipe/floor':>10} "
        f"{'pandas/floor':>12} | outputs"
    )
    print(header)
    print("-" * len(header))
    for size in results["sizes"]:
        verification = size["verification"]
        verdict = (
            f"agree ({_compared(size)})"
            if verification["agree"]
            else "-"
            if not verification["differences"]
            else "DISAGREE"
        )
        print(
            f"{size['clients']:>10,} {size['row_counts']['goals.csv']:>10,} "
            f"{size['generate_seconds']:>7.1f} s | "
            f"{_seconds(size.get('pipeline')):>9} {_memory(size.get('pipeline')):>9} | "
            f"{_seconds(size.get('floor')):>7} {_memory(size.get('floor')):>8} | "
            f"{_seconds(size.get('pandas')):>7} {_memory(size.get('pandas')):>9} | "
            f"{_ratio(size.get('pipeline'), size.get('floor')):>10} "
            f"{_ratio(size.get('pandas'), size.get('floor')):>12} | {verdict}"
        )
    sample = results.get("sample")
    if sample:
        runs = sorted(sample.get("runs_wall_seconds", [sample["wall_seconds"]]))
        print(
            f"\n`dcrs run` on the bundled sample (116 clients), cold: {_seconds(sample)} "
            f"(median of {len(runs)} runs: {', '.join(f'{run:.1f}' for run in runs)} s), "
            f"peak {_memory(sample)}"
        )
        if sample.get("speed_probe_seconds"):
            probes = sample["speed_probe_seconds"]
            print(
                f"   speed probe (importing dbt in a fresh process) before the runs: "
                f"{min(probes):.1f}-{max(probes):.1f} s; the longer, the busier the shared "
                "machine"
            )

    for size in results["sizes"]:
        verification = size["verification"]
        for check, found in verification["differences"].items():
            if found:
                print(f"\nOUTPUTS DISAGREE at {size['clients']:,} clients ({check}):")
                print("\n".join(f"  {line}" for line in found))
    for name in TOOLS:
        for size in results["sizes"]:
            entry = size.get(name)
            if entry and entry["returncode"]:
                reason = "; ".join(entry.get("breakdown", {}).get("failures", [])[:2])
                print(
                    f"* {name} at {size['clients']:,} clients failed (exit {entry['returncode']}) "
                    f"after {entry['wall_seconds']:.1f} s" + (f": {reason}" if reason else "")
                )
    checked = [size for size in results["sizes"] if size["verification"]["differences"]]
    if checked and all(size["verification"]["agree"] for size in checked):
        where = "; ".join(f"{size['clients']:,}: {_compared(size)}" for size in checked)
        print(
            f"\noutputs agree ({where}): every row of measure_breakdown, with n, denominator, "
            f"order, benchmark and comparison equal and percent and interval within "
            f"{VERIFY_TOLERANCE:g}"
        )

    print_incremental(results.get("incremental"))
    print_breakdown(results)
    print_targets(results)


def print_incremental(incremental: dict | None) -> None:
    if not incremental or not incremental.get("runs"):
        return
    print(
        f"\nMonthly history: {len(incremental['runs'])} cumulative exports of one service "
        "loaded in order into one warehouse, one `dcrs run` each"
    )
    for number, run in enumerate(incremental["runs"], start=1):
        failed = "" if run["returncode"] == 0 else f"  FAILED (exit {run['returncode']})"
        print(
            f"  {number:>2}. {run['extract']}  {run['clients']:>9,} clients  "
            f"{run['wall_seconds']:>7.1f} s  peak {run['tree_peak_mb']:>7,.0f} MB{failed}"
        )
    if not incremental.get("measured"):
        return
    last = incremental["incremental"]
    alone = incremental["alone"]
    print(
        f"  incremental month (the last run, on {incremental['history_months']} months of "
        f"history): {last['wall_seconds']:.1f} s; full rebuild (every run above, from an "
        f"empty warehouse): {incremental['full_rebuild_seconds']:.1f} s"
    )
    print(
        f"  the last export alone, into an empty warehouse: {alone['wall_seconds']:.1f} s "
        f"(the history adds {last['wall_seconds'] - alone['wall_seconds']:+.1f} s); its "
        "measure_breakdown "
        + ("equals" if incremental["last_extract_equals_run_alone"] else "DIFFERS FROM")
        + " the incremental run's"
    )
    changes = incremental["last_month_changes"]
    print(
        "  changes found in the last month: "
        + ", ".join(f"{name} {count:,}" for name, count in sorted(changes.items()) if count)
    )


def print_breakdown(results: dict) -> None:
    runs = [(f"{size['clients']:,}", size.get("pipeline")) for size in results["sizes"]]
    if results.get("sample"):
        runs.append(("sample", results["sample"]))
    runs = [
        (label + ("*" if run["returncode"] else ""), run)
        for label, run in runs
        if run and run["breakdown"].get("phases")
    ]
    if not runs:
        return
    print("\nWhere the pipeline's time goes (seconds of wall time, from its progress lines):")
    print(f"  {'phase':<40}" + "".join(f"{label:>11}" for label, _ in runs))
    for phase in PHASE_LABELS.values():
        cells = [run["breakdown"]["phases"].get(phase) for _, run in runs]
        print(
            f"  {phase:<40}"
            + "".join(f"{'-':>11}" if cell is None else f"{cell:>11.1f}" for cell in cells)
        )
    print(f"  {'total':<40}" + "".join(f"{run['wall_seconds']:>11.1f}" for _, run in runs))
    print("  dbt node time by kind (summed over dbt's threads):")
    kinds = sorted(
        {kind for _, run in runs for kind in run["breakdown"]["dbt_node_seconds_by_kind"]}
    )
    for kind in kinds:
        print(
            f"    {kind:<38}"
            + "".join(
                f"{run['breakdown']['dbt_node_seconds_by_kind'].get(kind, 0.0):>11.1f}"
                for _, run in runs
            )
        )
    print(f"    {'nodes':<38}" + "".join(f"{run['breakdown']['dbt_nodes']:>11}" for _, run in runs))
    print("  peak resident memory of each program (MB, sampled):")
    programs = [
        name for name in ("dcrs", "dbt") if any(name in run["process_peaks_mb"] for _, run in runs)
    ]
    for program in programs:
        print(
            f"    {program:<38}"
            + "".join(f"{run['process_peaks_mb'].get(program, 0):>11,.0f}" for _, run in runs)
        )
    if any(run["returncode"] for _, run in runs):
        print("  * failed: its phases stop where the run stopped")
    for label, run in runs:
        if run["breakdown"].get("missing_phases"):
            print(
                f"  {label}: no progress line found for "
                f"{', '.join(run['breakdown']['missing_phases'])} (see PHASE_STARTS): the "
                "phases around them are merged"
            )
    label, largest = runs[-2] if runs[-1][0] == "sample" and len(runs) > 1 else runs[-1]
    print(
        f"  slowest dbt nodes at {label}: "
        + "; ".join(
            f"{what.split(' ')[-1]} {seconds:.1f} s"
            for what, seconds in largest["breakdown"]["slowest_nodes"]
        )
    )
    if any(run["breakdown"]["full_parse"] for _, run in runs):
        print(
            "  dbt re-parsed the whole project in these runs ('Unable to do partial parsing "
            "because profile has changed'): the warehouse path is part of the profile."
        )


def _per_client(entry: dict, clients: int) -> float:
    return entry["wall_seconds"] / clients


def print_targets(results: dict) -> None:
    print("\nTargets")
    sizes = {size["clients"]: size for size in results["sizes"]}
    at_target = sizes.get(TARGET_SIZE, {})
    pipeline = at_target.get("pipeline")
    floor = at_target.get("floor")
    label = f"{TARGET_SIZE:,} clients"
    if pipeline and floor:
        print(
            f"  full pipeline at {label} against the floor (reported, no target): "
            f"{pipeline['wall_seconds'] / floor['wall_seconds']:.1f}x "
            f"({pipeline['wall_seconds']:.1f} s vs {floor['wall_seconds']:.1f} s)"
        )
    if pipeline:
        peak = pipeline["tree_peak_mb"]
        verdict = (
            "met"
            if peak < TARGET_PIPELINE_PEAK_MB and pipeline["returncode"] == 0
            else f"MISSED ({peak:,.0f} MB, exit {pipeline['returncode']})"
        )
        print(f"  full pipeline at {label} under 1 GB peak memory: {peak:,.0f} MB -> {verdict}")
    else:
        print(f"  full pipeline at {label} under 1 GB peak memory: not measured in this run")
    low = at_target.get("pipeline_low_memory")
    if low:
        verdict = "met" if low["returncode"] == 0 else f"MISSED (exit {low['returncode']})"
        print(
            f"  {label} complete at a {low['memory_limit']} DuckDB limit: "
            f"{low['wall_seconds']:.1f} s, peak {low['tree_peak_mb']:,.0f} MB -> {verdict}"
        )
    large = sizes.get(LARGE_SIZE, {}).get("pipeline")
    if large:
        peak = large["tree_peak_mb"]
        verdict = (
            "met"
            if large["returncode"] == 0 and peak < TARGET_LARGE_PEAK_MB
            else f"MISSED (exit {large['returncode']}, {peak:,.0f} MB)"
        )
        print(
            f"  {LARGE_SIZE:,} clients complete under {TARGET_LARGE_PEAK_MB / 1024:.0f} GB peak: "
            f"{large['wall_seconds']:.1f} s, {peak:,.0f} MB -> {verdict}"
        )
        if pipeline:
            ratio = _per_client(large, LARGE_SIZE) / _per_client(pipeline, TARGET_SIZE)
            verdict = "met" if ratio <= TARGET_LARGE_PER_CLIENT_RATIO else "MISSED"
            print(
                f"  time per client at {LARGE_SIZE:,} within {TARGET_LARGE_PER_CLIENT_RATIO}x "
                f"that at {TARGET_SIZE:,}: {ratio:.2f}x "
                f"({_per_client(large, LARGE_SIZE) * 1e6:.1f} vs "
                f"{_per_client(pipeline, TARGET_SIZE) * 1e6:.1f} us per client) -> {verdict}"
            )
    sample = results.get("sample")
    if sample:
        seconds = sample["wall_seconds"]
        runs = sample.get("runs_wall_seconds", [seconds])
        if sample.get("runs_failed"):
            verdict = f"{sample['runs_failed']} run(s) FAILED"
        elif seconds < TARGET_SAMPLE_SECONDS:
            verdict = "met"
        else:
            verdict = f"MISSED by {seconds - TARGET_SAMPLE_SECONDS:.1f} s"
        under = sum(run < TARGET_SAMPLE_SECONDS for run in runs)
        print(
            f"  dcrs run on the sample, cold, under {TARGET_SAMPLE_SECONDS:g} s (at a quiet "
            f"hour): median {seconds:.1f} s ({under} of {len(runs)} runs under, slowest "
            f"{max(runs):.1f} s) -> {verdict}"
        )
    else:
        print(f"  dcrs run on the sample, cold, under {TARGET_SAMPLE_SECONDS:g} s: not measured")
    incremental = results.get("incremental") or {"measured": False, "reason": "skipped"}
    if not incremental.get("measured"):
        print(
            "  incremental month (one new month on a year of history) under "
            f"{TARGET_INCREMENTAL_SHARE:.0%} of a full rebuild: not measured: "
            f"{incremental['reason']}"
        )
    else:
        share = incremental["incremental"]["wall_seconds"] / incremental["full_rebuild_seconds"]
        verdict = (
            "met"
            if share < TARGET_INCREMENTAL_SHARE
            else f"MISSED by {share - TARGET_INCREMENTAL_SHARE:.0%} of the rebuild"
        )
        print(
            f"  incremental month at {incremental['clients']:,} clients under "
            f"{TARGET_INCREMENTAL_SHARE:.0%} of a full rebuild: "
            f"{incremental['incremental']['wall_seconds']:.1f} s vs "
            f"{incremental['full_rebuild_seconds']:.1f} s ({share:.0%}) -> {verdict}"
        )


# ------------------------------------------------------------------------------------------


def machine_info() -> dict[str, object]:
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "cpus": os.cpu_count(),
        "memory_gb": memory_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "commit": commit or "unknown",
        # DuckDB's memory limit in the pipeline's load and dbt build (the variable
        # DCRS_DUCKDB_MEMORY_LIMIT, which the runs inherit, or the pipeline's default)
        "duckdb_memory_limit": settings.memory_limit(),
        "memory_tool": "GNU time + /proc sampling" if GNU_TIME.exists() else "rusage + /proc",
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Time the full pipeline against a DuckDB SQL floor and plain pandas.",
        epilog="Read bench/README.md for what is measured and how to read the table.",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[10_000, 100_000, 1_000_000],
        help="clients per generated export (default: 10000 100000 1000000; none: no sizes)",
    )
    parser.add_argument("--skip-pipeline", action="store_true", help="do not run dcrs run")
    parser.add_argument("--skip-floor", action="store_true", help="do not run the floor")
    parser.add_argument("--skip-pandas", action="store_true", help="do not run pandas")
    parser.add_argument("--skip-sample", action="store_true", help="do not time the sample")
    parser.add_argument(
        "--skip-low-memory",
        action="store_true",
        help=f"do not run 1M clients again at a {TARGET_LOW_MEMORY_LIMIT} DuckDB limit",
    )
    parser.add_argument(
        "--sample-runs", type=int, default=5, help="runs on the sample (the median is reported)"
    )
    parser.add_argument("--seed", type=int, default=2010, help="generator seed")
    parser.add_argument(
        "--months",
        type=int,
        default=1,
        help="months of registrations in each export (default 1; the newest export is timed)",
    )
    parser.add_argument(
        "--skip-incremental", action="store_true", help="do not time the incremental month"
    )
    parser.add_argument(
        "--incremental-clients",
        type=int,
        default=TARGET_SIZE,
        help=f"clients in the newest export of the incremental test (default {TARGET_SIZE})",
    )
    parser.add_argument(
        "--history-months",
        type=int,
        default=12,
        help="months of history loaded before the incremental month (default 12)",
    )
    parser.add_argument("--workdir", type=Path, help="keep exports and outputs here")
    parser.add_argument(
        "--results", type=Path, default=BENCH / "results", help="folder for the JSON results"
    )
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dcrs-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    results: dict[str, object] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "arguments": {key: str(value) for key, value in vars(args).items()},
        "targets": {
            "size": TARGET_SIZE,
            "pipeline_peak_mb": TARGET_PIPELINE_PEAK_MB,
            "low_memory_limit": TARGET_LOW_MEMORY_LIMIT,
            "large_size": LARGE_SIZE,
            "large_peak_mb": TARGET_LARGE_PEAK_MB,
            "large_per_client_ratio": TARGET_LARGE_PER_CLIENT_RATIO,
            "sample_seconds": TARGET_SAMPLE_SECONDS,
        },
        "sizes": [],
    }
    try:
        for clients in args.sizes:
            results["sizes"].append(run_size(clients, workdir, args))
        if not args.skip_sample and not args.skip_pipeline:
            results["sample"] = run_sample(workdir, args.sample_runs)
        if not args.skip_incremental and not args.skip_pipeline:
            results["incremental"] = measure_incremental(args, workdir)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(results)

    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nRaw results: {path}")
    disagree = any(
        size["verification"]["differences"] and not size["verification"]["agree"]
        for size in results["sizes"]
    )
    failed = any(
        entry.get("returncode")
        for size in results["sizes"]
        for entry in (
            size.get("pipeline"),
            size.get("pipeline_low_memory"),
            size.get("floor"),
            size.get("pandas"),
        )
        if entry
    )
    return 1 if disagree or failed else 0


if __name__ == "__main__":
    sys.exit(main())
