#!/usr/bin/env python3
"""Write seeds/confidence_levels.csv (`make confidence-levels`): the two-sided z of each
confidence level the measures use, from scipy's normal quantile at full float precision.

Fingertips (PHE/OHID) reports every proportion with a 95% and a 99.8% interval, and
compares with the benchmark at both levels; the Wilson macros (macros/statistics.sql) take
z from this seed, never from a literal. tests/test_verdicts.py fails when the committed
seed differs from what this script writes.

Usage, from anywhere:

    .venv/bin/python scripts/generate_confidence_levels.py            # write the seed
    .venv/bin/python scripts/generate_confidence_levels.py --out FILE # write FILE instead
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from scipy.stats import norm

PROJECT = Path(__file__).resolve().parents[1]
SEED = PROJECT / "seeds" / "confidence_levels.csv"

# id, level (a proportion), label
LEVELS = [
    ("ci_95", 0.95, "95%"),
    ("ci_998", 0.998, "99.8%"),
]
SOURCE = (
    "scipy.stats.norm.ppf(1 - (1 - level) / 2), written by "
    "scripts/generate_confidence_levels.py; the levels Fingertips uses for proportions"
)


def rows() -> list[dict[str, str]]:
    """Each level with its two-sided z; repr() keeps every digit of the double."""
    return [
        {
            "confidence_level_id": level_id,
            "level": repr(level),
            "level_label": label,
            "two_sided_z": repr(float(norm.ppf(1 - (1 - level) / 2))),
            "source": SOURCE,
        }
        for level_id, level, label in LEVELS
    ]


def render() -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows()[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows())
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SEED)
    arguments = parser.parse_args()
    arguments.out.write_text(render())
    print(f"{arguments.out} written")


if __name__ == "__main__":
    main()
