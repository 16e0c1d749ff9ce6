"""Public Health England's inequality methods, as PHEindicatormethods computes them, in
numpy: the slope and relative indices of inequality (``phe_sii``, R/SII_function.R and
R/utils.R) and the funnel-plot limits for proportions (``phe_funnel_prop_limits``,
R/Funnels.R). No dbt, no database: the dbt Python models call these, and the tests hold
them to PHEindicatormethods' own reference values (tests/reference/)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

# phe_sii derives each quantile's standard error from 95% limits whatever the output level
Z_975 = float(ndtri(0.975))


@dataclass(frozen=True)
class SiiResult:
    sii: float
    rii: float
    sii_lower: float
    sii_upper: float
    rii_lower: float
    rii_upper: float


def cumulative_midpoints(population: np.ndarray) -> np.ndarray:
    """FindXValues: the midpoint of each quantile's share of the cumulative population."""
    share = population / population.sum()
    return np.cumsum(share) - share / 2


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return np.exp(x) / (1 + np.exp(x))


def phe_sii_proportion(
    population: np.ndarray,
    value: np.ndarray,
    lower_cl: np.ndarray,
    upper_cl: np.ndarray,
    *,
    transform: bool,
    repetitions: int,
    rng: np.random.Generator,
    confidence: float = 0.95,
    multiplier: float = 1.0,
) -> SiiResult:
    """phe_sii with value_type = 2 (a proportion, 0-1), its limits given, rii = TRUE, for
    one area: quantiles in order, the first the most deprived. The standard error of each
    quantile is from its logit-transformed 95% limits; with ``transform`` the regression
    is on the logit scale and the SII is taken back to proportions at the ends of the
    fitted line (PHE's recommended route for proportions); without, on the proportions.
    The interval: ``repetitions`` draws of every quantile's logit value (normal, its
    standard error), each regressed, the SIIs sorted and read at PHE's positions."""
    population = np.asarray(population, dtype="float64")
    logit_value = _logit(np.asarray(value, dtype="float64"))
    standard_error = (
        (
            _logit(np.asarray(upper_cl, dtype="float64"))
            - _logit(np.asarray(lower_cl, dtype="float64"))
        )
        / Z_975
        / 2
    )
    sqrt_a = np.sqrt(population / population.sum())
    b_sqrt_a = cumulative_midpoints(population) * sqrt_a
    design = np.vstack([sqrt_a, b_sqrt_a])  # 2 x quantiles: the transposed X
    solver = np.linalg.solve(design @ design.T, design)  # (X'X)^-1 X'

    def fit(y: np.ndarray) -> np.ndarray:
        """Intercept and slope of y * sqrt(a) on sqrt(a) and b * sqrt(a), no constant:
        one column of y per fit."""
        return solver @ (y * sqrt_a[:, None])

    point_y = logit_value if transform else _expit(logit_value)
    intercept, slope = fit(point_y[:, None])[:, 0]
    draws = rng.normal(
        logit_value[:, None], standard_error[:, None], size=(len(population), repetitions)
    )
    simulated = fit(draws if transform else _expit(draws))
    critical = confidence + (1 - confidence) / 2
    # R's positions (1-based, rounded half to even as R's round does) into the sorted draws
    positions = np.array([np.round(repetitions * (1 - critical)), np.round(repetitions * critical)])
    positions = positions.astype(int) - 1

    if not transform:
        sii = multiplier * slope
        rii = (intercept + slope) / intercept
        sims_sii = np.sort(simulated[1] * multiplier)
        sims_rii = (simulated[1] + simulated[0]) / simulated[0]
        if multiplier < 0:
            rii = 1 / rii
            sims_rii = 1 / sims_rii
        sims_rii = np.sort(sims_rii)
        return SiiResult(
            sii=float(sii),
            rii=float(rii),
            sii_lower=float(sims_sii[positions[0]]),
            sii_upper=float(sims_sii[positions[1]]),
            rii_lower=float(sims_rii[positions[0]]),
            rii_upper=float(sims_rii[positions[1]]),
        )

    # transform: the line's ends (x = 0 and 1) taken back to proportions
    at_one = intercept + slope
    at_half = (intercept + at_one) / 2
    sii = (_expit(at_one) - _expit(intercept)) * multiplier
    rii = _expit(at_one) / _expit(intercept)
    if multiplier < 0:
        rii = 1 / rii
    sims_slope = np.sort(simulated[1])
    slope_lower, slope_upper = sims_slope[positions[0]], sims_slope[positions[1]]

    def ends(limit: float) -> tuple[float, float]:
        """The proportions at x = 1 and x = 0 of the line through the midpoint with the
        slope ``limit``."""
        return _expit(at_half + limit / 2), _expit(at_half - limit / 2)

    top_lower, bottom_lower = ends(slope_lower)
    top_upper, bottom_upper = ends(slope_upper)
    if multiplier < 0:
        sii_lower = (top_upper - bottom_upper) * multiplier
        sii_upper = (top_lower - bottom_lower) * multiplier
        rii_lower = 1 / (top_upper / bottom_upper)
        rii_upper = 1 / (top_lower / bottom_lower)
    else:
        sii_lower = (top_lower - bottom_lower) * multiplier
        sii_upper = (top_upper - bottom_upper) * multiplier
        rii_lower = top_lower / bottom_lower
        rii_upper = top_upper / bottom_upper
    return SiiResult(
        sii=float(sii),
        rii=float(rii),
        sii_lower=float(sii_lower),
        sii_upper=float(sii_upper),
        rii_lower=float(rii_lower),
        rii_upper=float(rii_upper),
    )


def funnel_proportion_limit(
    denominator: np.ndarray, average: np.ndarray | float, z: float, side: str
) -> np.ndarray:
    """One funnel-plot limit for a proportion, as PHEindicatormethods draws it
    (sigma_adjustment in R/utils.R, used by calculate_funnel_limits and
    assign_funnel_significance): the value, in percent, at which a unit of this
    denominator's Wilson interval at z would just touch the average proportion (0-1).
    z = 1.959964 (qnorm(0.975)) for the 95% limits, 3.090232 (qnorm(0.999)) for 99.8%.
    Clamped to [0, 100] as calculate_funnel_limits does; null (nan) for a denominator of 0."""
    population = np.asarray(denominator, dtype="float64")
    limit = _unclamped(population, average, z, side)
    return np.where(population > 0, np.clip(limit, 0, 100), np.nan)


def funnel_proportion_significance(
    numerator: np.ndarray, denominator: np.ndarray, average: float, z_95: float, z_998: float
) -> np.ndarray:
    """assign_funnel_significance for proportions: 'Low (0.001)', 'Low (0.025)',
    'High (0.001)', 'High (0.025)' or 'Not significant', in that order of precedence (PHE's
    case_when), by the unit's percent against the limits at its denominator."""
    n = np.asarray(numerator, dtype="float64")
    d = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = 100 * n / d
    # the unclamped limits (PHE compares with sigma_adjustment itself)
    conditions = [
        percent < _unclamped(d, average, z_998, "low"),
        percent < _unclamped(d, average, z_95, "low"),
        percent > _unclamped(d, average, z_998, "high"),
        percent > _unclamped(d, average, z_95, "high"),
    ]
    labels = ["Low (0.001)", "Low (0.025)", "High (0.001)", "High (0.025)"]
    return np.select(conditions, labels, default="Not significant")


def _unclamped(denominator: np.ndarray, average: float, z: float, side: str) -> np.ndarray:
    population = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        first_part = average * (population / z**2 + 1)
        adjustment = np.sqrt(
            (-8 * average * (population / z**2 + 1)) ** 2
            - 64
            * (1 / z**2 + 1 / population)
            * average
            * (population * (average * (population / z**2 + 2) - 1) + z**2 * (average - 1))
        )
        last_part = 1 / z**2 + 1 / population
        sign = -1 if side == "low" else 1
        return (first_part + sign * adjustment / 8) / last_part / population * 100


def funnel_limits_frame(counts, keys, unit, is_unit_known, z_95, z_998):
    """A funnel plot's rows: ``counts`` (one row per funnel ``keys`` and ``unit``, with n
    and denominator) with the percent, the centre line (the pooled percent of every row of
    the funnel), the 95% and 99.8% limits at the row's denominator, and the significance
    (null where ``is_unit_known`` is false: such rows are shown, not judged)."""
    import pandas as pd

    frame = counts.copy()
    frame["n"] = frame["n"].astype("int64")
    frame["denominator"] = frame["denominator"].astype("int64")
    totals = frame.groupby(keys)[["n", "denominator"]].transform("sum")
    average = totals["n"] / totals["denominator"]
    denominator = frame["denominator"].to_numpy(dtype="float64")
    frame["percent"] = 100 * frame["n"] / frame["denominator"].where(frame["denominator"] > 0)
    frame["centre_percent"] = 100 * average
    for column, z, side in [
        ("lower_95", z_95, "low"),
        ("upper_95", z_95, "high"),
        ("lower_998", z_998, "low"),
        ("upper_998", z_998, "high"),
    ]:
        frame[column] = funnel_proportion_limit(denominator, average.to_numpy(), z, side)
    significance = funnel_proportion_significance(
        frame["n"], frame["denominator"], average.to_numpy(), z_95, z_998
    )
    frame["significance"] = pd.Series(significance, index=frame.index).where(
        is_unit_known & (frame["denominator"] > 0)
    )
    return frame[
        [
            *keys,
            unit,
            "n",
            "denominator",
            "percent",
            "centre_percent",
            "lower_95",
            "upper_95",
            "lower_998",
            "upper_998",
            "significance",
        ]
    ]


INDEX_COLUMNS = [
    "service_code",
    "extract_date",
    "indicator_id",
    "quintiles",
    "records",
    "smallest_quintile_records",
    "sii",
    "sii_lower",
    "sii_upper",
    "rii",
    "rii_lower",
    "rii_upper",
    "withheld_reason",
]
QUINTILES = 5


def inequality_indices(rows, min_records: int, repetitions: int, random_seed: int):
    """The SII and RII of each service, extract and indicator of ``rows`` (the rows of
    marts.inequalities, or of published.inequalities: the comparable deprivation
    quintiles are read), or the reason they are withheld: reach (a share of the
    service's clients), a suppressed quintile count (published only), a quintile with
    fewer than ``min_records`` units of the indicator's population, a quintile at 0% or
    100%. Each simulation's generator is seeded with ``random_seed`` and the service,
    extract and indicator, so a rebuild gives the same limits. A data frame with
    INDEX_COLUMNS, repetitions and random_seed."""
    import zlib

    import pandas as pd

    quintiles = rows[(rows["dimension"] == "deprivation_quintile") & rows["is_comparable"]]
    keys = ["service_code", "extract_date", "indicator_id"]
    results = []
    for (service_code, extract_date, indicator_id), group in quintiles.groupby(keys):
        group = group.sort_values("group_order")
        suppressed = bool(group["n"].isna().any())
        if indicator_id != "reach":
            suppressed = suppressed or bool(group["denominator"].isna().any())
        denominator = group["denominator"].astype("float64").fillna(0).to_numpy()
        n = group["n"].astype("float64").fillna(0).to_numpy()
        # the quintile's records: its units in the indicator's population (reach: clients)
        records = n if indicator_id == "reach" else denominator
        figures = {
            "service_code": service_code,
            "extract_date": extract_date,
            "indicator_id": indicator_id,
            "quintiles": len(group),
            "records": None if suppressed else int(records.sum()),
            "smallest_quintile_records": None if suppressed else int(records.min()),
            "withheld_reason": None,
        }
        if indicator_id == "reach":
            figures["withheld_reason"] = (
                "reach is a share of the service's clients, not a rate within each quintile"
            )
        elif suppressed:
            figures["withheld_reason"] = "a deprivation quintile's count is suppressed"
        elif len(group) != QUINTILES or records.min() < min_records:
            figures["withheld_reason"] = (
                f"a deprivation quintile has fewer than {min_records} records"
            )
        elif ((n == 0) | (n == denominator)).any():
            figures["withheld_reason"] = (
                "a deprivation quintile is at 0% or 100%: its logit is not finite"
            )
        else:
            key = f"{service_code}|{extract_date}|{indicator_id}".encode()
            rng = np.random.default_rng([random_seed, zlib.crc32(key)])
            result = phe_sii_proportion(
                denominator,
                n / denominator,
                group["ci_lower"].to_numpy(dtype="float64") / 100,
                group["ci_upper"].to_numpy(dtype="float64") / 100,
                transform=True,
                multiplier=100.0,
                repetitions=repetitions,
                rng=rng,
            )
            figures.update(vars(result))
        results.append(figures)
    frame = pd.DataFrame(results).reindex(columns=INDEX_COLUMNS)
    return frame.assign(repetitions=repetitions, random_seed=random_seed)
