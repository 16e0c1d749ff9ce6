"""The inequality methods of src/dcrs/inequality_methods.py against PHEindicatormethods'
own reference values (tests/reference/, copied from its test data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from dcrs.inequality_methods import (
    cumulative_midpoints,
    funnel_proportion_limit,
    funnel_proportion_significance,
    phe_sii_proportion,
)

REFERENCE = Path(__file__).parent / "reference"
# PHEindicatormethods' SII tests accept a 5% tolerance on the simulated limits
LIMIT_TOLERANCE = 0.05


@pytest.mark.fast
def test_cumulative_midpoints_are_phes_x_values():
    assert np.allclose(cumulative_midpoints(np.array([1.0, 1, 2])), [0.125, 0.375, 0.75])


def sii_cases() -> list[tuple[str, pd.DataFrame]]:
    reference = pd.read_csv(REFERENCE / "phe_sii_proportions.csv", comment="#")
    return [
        (f"records {first} {area}", rows.sort_values("Quantile"))
        for (first, area), rows in reference.groupby(["test_first_record", "Area"])
    ]


@pytest.mark.fast
@pytest.mark.parametrize(("case", "rows"), sii_cases(), ids=[case for case, _ in sii_cases()])
def test_sii_reproduces_phes_reference_values(case, rows):
    result = phe_sii_proportion(
        rows["Population"].to_numpy(),
        rows["Value"].to_numpy(),
        rows["LowerCL"].to_numpy(),
        rows["UpperCL"].to_numpy(),
        transform=bool(rows["transform"].iloc[0]),
        multiplier=float(rows["multiplier"].iloc[0]),
        repetitions=100_000,
        rng=np.random.default_rng(20101),
    )
    expected = rows.iloc[0]
    # the regression is deterministic: PHE's values to the precision they are stored at
    assert result.sii == pytest.approx(expected["sii"], rel=1e-12)
    assert result.rii == pytest.approx(expected["rii"], rel=1e-12)
    for ours, theirs in [
        (result.sii_lower, "sii_lowercl_1"),
        (result.sii_upper, "sii_uppercl_1"),
        (result.rii_lower, "rii_lowercl_1"),
        (result.rii_upper, "rii_uppercl_1"),
    ]:
        assert ours == pytest.approx(expected[theirs], rel=LIMIT_TOLERANCE), theirs


@pytest.mark.fast
def test_sii_limits_depend_only_on_the_seed():
    rows = sii_cases()[0][1]
    arguments = [rows[c].to_numpy() for c in ["Population", "Value", "LowerCL", "UpperCL"]]

    def run(seed: int):
        return phe_sii_proportion(
            *arguments, transform=True, repetitions=10_000, rng=np.random.default_rng(seed)
        )

    assert run(1) == run(1)
    assert run(1).sii_lower != run(2).sii_lower


Z_95 = float(ndtri(0.975))
Z_998 = float(ndtri(0.999))


def funnel_reference() -> tuple[pd.DataFrame, pd.DataFrame, float]:
    inputs = pd.read_csv(REFERENCE / "phe_funnel_prop_inputs.csv", comment="#")
    outputs = pd.read_csv(REFERENCE / "phe_funnel_prop_outputs.csv", comment="#")
    average = inputs["numerator"].sum() / inputs["denominator"].sum()
    return inputs, outputs, average


@pytest.mark.fast
def test_funnel_limits_reproduce_phes_reference_values():
    _, outputs, average = funnel_reference()
    assert 100 * average == pytest.approx(outputs["Baseline"].iloc[0], abs=5e-7)
    population = outputs["Population"].to_numpy()
    for column, z, side in [
        ("Lower2s0025limit", Z_95, "low"),
        ("Upper2s0025limit", Z_95, "high"),
        ("Lower3s0001limit", Z_998, "low"),
        ("Upper3s0001limit", Z_998, "high"),
    ]:
        ours = funnel_proportion_limit(population, average, z, side)
        # PHE's file prints 6 decimals: ours rounded to them is their figure exactly
        assert np.array_equal(np.round(ours, 6), outputs[column].to_numpy()), column


@pytest.mark.fast
def test_funnel_significance_reproduces_phes_reference_values():
    inputs, _, average = funnel_reference()
    significance = funnel_proportion_significance(
        inputs["numerator"], inputs["denominator"], average, Z_95, Z_998
    )
    assert list(significance) == list(inputs["significance"])
