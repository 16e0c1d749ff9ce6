"""Run the floor (bench/floor.sql) on one export: marts.measure_breakdown in plain DuckDB SQL.

    .venv/bin/python bench/floor.py EXPORT_DIR [--database FILE]

Fills in the script's placeholders (the export, the seeds, and the dbt variables the
pipeline uses: confidence_z, bmi_min, bmi_max, oldest_plausible_age from dbt_project.yml)
and runs it through the duckdb Python API. With --database the tables, measure_breakdown
among them, are written to that file (as the pipeline writes its warehouse); without it
they stay in memory. bench/run.py runs this in a fresh process to time it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("floor.sql")


def floor_sql(export: Path, seeds: Path = ROOT / "seeds") -> str:
    variables = yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]
    values = {
        "export": str(export.resolve()).replace("'", "''"),
        "seeds": str(seeds.resolve()).replace("'", "''"),
        "z": repr(float(variables["confidence_z"])),
        "bmi_min": repr(float(variables["bmi_min"])),
        "bmi_max": repr(float(variables["bmi_max"])),
        "oldest_age": str(int(variables["oldest_plausible_age"])),
    }
    text = SCRIPT.read_text()
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="the export folder")
    parser.add_argument("--database", default=":memory:", help="DuckDB file to write")
    arguments = parser.parse_args()
    with duckdb.connect(str(arguments.database)) as con:
        con.execute(floor_sql(arguments.export))
        rows = con.execute("select count(*) from measure_breakdown").fetchone()[0]
    print(f"floor: {rows} rows in measure_breakdown")


if __name__ == "__main__":
    main()
