"""marts.inequalities, marts.inequality_indices: each figure against an independent pandas
calculation on the private store's validated rows, and PHE's reference values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import connect, run_dcrs
from scipy.stats import norm

from dcrs.generate import generate

Z_95 = norm.ppf(0.975)
ETHNIC_GROUPS = {
    "White - British": "White",
    "White - Irish": "White",
    "Other White Background": "White",
    "Mixed - White and Black Caribbean": "Mixed",
    "Mixed - White and Black African": "Mixed",
    "Mixed - White and Asian": "Mixed",
    "Mixed - Any Other Mixed Background": "Mixed",
    "Asian or Asian British - Indian": "Asian",
    "Asian or Asian British - Pakistani": "Asian",
    "Asian or Asian British - Bangladeshi": "Asian",
    "Any Other Asian Background": "Asian",
    "Chinese": "Asian",
    "Black or Black British - Caribbean": "Black",
    "Black or Black British - African": "Black",
    "Any Other Black Background": "Black",
    "Any Other Ethnic Group": "Other",
    "Not Stated": "Not stated",
    "Not recorded": "Not recorded",
    "Invalid": "Invalid",
}
DIMENSIONS = ["deprivation_quintile", "ethnic_group", "age_band", "gender", "disability"]


def wilson(n: pd.Series, d: pd.Series, z: float = Z_95) -> tuple[pd.Series, pd.Series]:
    p = n / d
    centre = 2 * n + z**2
    spread = z * np.sqrt(z**2 + 4 * n * (1 - p))
    return 100 * (centre - spread) / (2 * (d + z**2)), 100 * (centre + spread) / (2 * (d + z**2))


def private_frames(warehouse) -> dict[str, pd.DataFrame]:
    with connect(warehouse) as con:
        return {
            "clients": con.execute(
                "select c.client_id, c.deprivation_quintile, c.ethnicity, c.age_band, c.gender,"
                " c.disability, v.is_eligible, v.health_trainer_id"
                " from intermediate.int_clients_categorised as c"
                " join intermediate.int_clients_validated as v using (client_id)"
            ).df(),
            "goals": con.execute(
                "select goal_id, client_id, outcome from intermediate.int_goals_validated"
            ).df(),
            "scores": con.execute(
                "select client_id, stage, score_percent"
                " from intermediate.int_wellbeing_scores_validated where instrument = 'who5'"
            ).df(),
            "mart": con.execute("select * from marts.inequalities").df(),
            "excluded": con.execute(
                "select measure_id as dimension, category as group_name"
                " from reference.measure_categories where excluded_from_denominator"
            ).df(),
        }


def expected_inequalities(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    clients = frames["clients"].assign(ethnic_group=lambda df: df["ethnicity"].map(ETHNIC_GROUPS))
    goals = frames["goals"]
    scores = frames["scores"]
    # wellbeing: clients with both stages usable; improved when follow-up > baseline
    paired = scores.pivot_table(
        index="client_id", columns="stage", values="score_percent", aggfunc="max"
    ).dropna()
    has_goal = clients["client_id"].isin(goals["client_id"])
    with_outcome = goals[goals["outcome"].isin(["Achieved", "Part Achieved", "Not Achieved"])]
    units = pd.concat(
        [
            pd.DataFrame({"indicator_id": "reach", "client_id": clients["client_id"], "hit": True}),
            pd.DataFrame(
                {
                    "indicator_id": "php_started",
                    "client_id": clients.loc[clients["is_eligible"], "client_id"],
                    "hit": has_goal[clients["is_eligible"]],
                }
            ),
            pd.DataFrame(
                {
                    "indicator_id": "goal_achieved_or_part",
                    "client_id": with_outcome["client_id"],
                    "hit": with_outcome["outcome"].isin(["Achieved", "Part Achieved"]),
                }
            ),
            pd.DataFrame(
                {
                    "indicator_id": "wellbeing_improved",
                    "client_id": paired.index,
                    "hit": (paired["follow_up"] > paired["baseline"]).to_numpy(),
                }
            ),
        ]
    )
    long = clients.melt(
        id_vars="client_id", value_vars=DIMENSIONS, var_name="dimension", value_name="group_name"
    )
    joined = units.merge(long, on="client_id")
    counted = (
        joined.groupby(["indicator_id", "dimension", "group_name"])
        .agg(n=("hit", "sum"), units=("hit", "size"))
        .reset_index()
    )
    reach = counted["indicator_id"] == "reach"
    # reach: the measures' denominators (their excluded categories left out; every Invalid)
    keys = pd.MultiIndex.from_frame(counted[["dimension", "group_name"]])
    excluded = pd.MultiIndex.from_frame(frames["excluded"][["dimension", "group_name"]])
    is_excluded = pd.Series(keys.isin(excluded), index=counted.index)
    is_excluded |= counted["group_name"] == "Invalid"
    valid = reach & ~is_excluded
    reach_totals = counted[valid].groupby("dimension")["n"].sum()
    counted["denominator"] = np.where(
        reach, counted["dimension"].map(reach_totals), counted["units"]
    ).astype(float)
    counted.loc[reach & is_excluded, "denominator"] = np.nan
    counted["percent"] = 100 * counted["n"] / counted["denominator"]
    counted["ci_lower"], counted["ci_upper"] = wilson(counted["n"], counted["denominator"])
    return counted


def test_inequalities_match_an_independent_calculation(sample_warehouse):
    frames = private_frames(sample_warehouse)
    expected = expected_inequalities(frames)
    mart = frames["mart"]
    merged = mart.merge(
        expected,
        on=["indicator_id", "dimension", "group_name"],
        how="left",
        suffixes=("", "_expected"),
    )
    # groups no one falls in are rows of the mart with n = 0
    absent = merged["n_expected"].isna()
    assert (merged.loc[absent, "n"] == 0).all()
    assert len(expected) == (~absent).sum(), "a group of the data is missing from the mart"
    present = merged[~absent]
    assert (present["n"] == present["n_expected"]).all()
    assert np.allclose(
        present["denominator"].astype(float), present["denominator_expected"], equal_nan=True
    )
    for column in ["percent", "ci_lower", "ci_upper"]:
        defined = present[column + "_expected"].notna() & (present["n"] > 0)
        defined &= present["n"] < present["denominator"]
        assert np.allclose(
            present.loc[defined, column], present.loc[defined, column + "_expected"]
        ), column
    # every indicator of every dimension, with every quintile shown
    quintiles = mart[(mart["dimension"] == "deprivation_quintile")]
    assert set(quintiles["indicator_id"]) == {
        "reach",
        "php_started",
        "goal_achieved_or_part",
        "wellbeing_improved",
    }
    assert set(quintiles["group_name"]) >= {
        "Q1 - Most deprived",
        "Q2",
        "Q3",
        "Q4",
        "Q5 - Least deprived",
    }
    assert set(mart.loc[mart["dimension"] == "ethnic_group", "group_name"]) >= {
        "White",
        "Mixed",
        "Asian",
        "Black",
        "Other",
    }


def test_unknown_groups_are_kept_and_never_compared(query):
    rows = query(
        "select group_name, is_comparable, service_comparison, benchmark_comparison"
        " from marts.inequalities where group_name in"
        " ('Not recorded', 'Declined', 'Not stated', 'Unknown / not recognised', 'Invalid')"
    )
    assert rows
    assert all(not comparable for _, comparable, _, _ in rows)
    assert all(service is None and benchmark is None for _, _, service, benchmark in rows)


def test_reach_carries_the_measures_benchmark(query):
    rows = query(
        "select i.group_name, i.benchmark_percent, b.benchmark_percent"
        " from marts.inequalities as i join marts.measure_breakdown as b"
        " on b.measure_id = i.dimension and b.category = i.group_name"
        " and b.extract_date = i.extract_date"
        " where i.indicator_id = 'reach' and i.dimension = 'deprivation_quintile'"
    )
    assert any(mart is not None for _, mart, _ in rows)
    assert all(
        (mart is None and breakdown is None) or math.isclose(mart, breakdown)
        for _, mart, breakdown in rows
    )


@pytest.fixture(scope="module")
def generated_warehouse(tmp_path_factory: pytest.TempPathFactory):
    """The one extra pipeline run of this file: a generated service large enough for
    every deprivation quintile to hold records (the sample has no client in Q5)."""
    root = tmp_path_factory.mktemp("inequalities")
    latest = generate(root / "exports", 1500, 1, 4)[-1]
    warehouse = root / "dcrs.duckdb"
    result = run_dcrs(latest, warehouse)
    assert result.returncode == 0, result.stdout + result.stderr
    return warehouse


def expit(x):
    return np.exp(x) / (1 + np.exp(x))


def test_sii_matches_a_weighted_regression_on_the_quintiles(generated_warehouse):
    with connect(generated_warehouse) as con:
        quintiles = con.execute(
            "select indicator_id, group_order, n, denominator from marts.inequalities"
            " where dimension = 'deprivation_quintile' and is_comparable"
            " order by indicator_id, group_order"
        ).df()
        indices = con.execute("select * from marts.inequality_indices").df()
    computed = indices[indices["withheld_reason"].isna()]
    assert len(computed) >= 1, indices
    for row in computed.itertuples():
        rows = quintiles[quintiles["indicator_id"] == row.indicator_id]
        population = rows["denominator"].to_numpy(dtype=float)
        share = population / population.sum()
        rank = np.cumsum(share) - share / 2
        logit = np.log(rows["n"] / (rows["denominator"] - rows["n"])).to_numpy()
        # weighted least squares on the logit scale, weights the population shares
        slope, intercept = np.polyfit(rank, logit, 1, w=np.sqrt(share))
        sii = 100 * (expit(intercept + slope) - expit(intercept))
        rii = expit(intercept + slope) / expit(intercept)
        assert row.sii == pytest.approx(sii, rel=1e-9)
        assert row.rii == pytest.approx(rii, rel=1e-9)
        assert row.sii_lower < row.sii < row.sii_upper
        assert row.rii_lower < row.rii < row.rii_upper
        assert row.repetitions == 100_000


def test_sii_is_withheld_for_small_quintiles_and_reach(generated_warehouse, query):
    with connect(generated_warehouse) as con:
        generated = con.execute(
            "select indicator_id, smallest_quintile_records, sii, rii, withheld_reason"
            " from marts.inequality_indices"
        ).fetchall()
    sample = query(
        "select indicator_id, smallest_quintile_records, sii, rii, withheld_reason"
        " from marts.inequality_indices"
    )
    for indicator_id, smallest, sii, rii, reason in generated + sample:
        if indicator_id == "reach":
            assert reason.startswith("reach is a share")
        elif smallest < 10:
            assert reason == "a deprivation quintile has fewer than 10 records"
        if reason is not None:
            assert sii is None and rii is None
    # the sample has no client in the least deprived quintile: nothing is given
    assert all(reason is not None for *_, reason in sample)


def test_trainer_funnels_match_an_independent_calculation(sample_warehouse):
    with connect(sample_warehouse) as con:
        clients = con.execute(
            "select client_id, health_trainer_id, is_eligible"
            " from intermediate.int_clients_validated"
        ).df()
        goals = con.execute(
            "select goal_id, client_id, outcome, goal_set_date"
            " from intermediate.int_goals_validated"
        ).df()
        capture = con.execute(
            "select field, population, unit_id, is_captured"
            " from intermediate.int_capture_fields_unpivoted"
        ).df()
        mart = con.execute("select * from marts.funnel_trainers").df()
    trainer = clients.set_index("client_id")["health_trainer_id"]
    eligible = clients[clients["is_eligible"]]
    with_outcome = goals[goals["outcome"].isin(["Achieved", "Part Achieved", "Not Achieved"])]
    goal_client = goals.set_index("goal_id")["client_id"]
    capture_client = capture["unit_id"].where(
        capture["population"] != "all goals", capture["unit_id"].map(goal_client)
    )
    units = pd.concat(
        [
            pd.DataFrame(
                {
                    "indicator_id": "php_started",
                    "trainer": eligible["health_trainer_id"].to_numpy(),
                    "hit": eligible["client_id"].isin(goals["client_id"]).to_numpy(),
                }
            ),
            pd.DataFrame(
                {
                    "indicator_id": "goal_achieved_or_part",
                    "trainer": with_outcome["client_id"].map(trainer).to_numpy(),
                    "hit": with_outcome["outcome"].isin(["Achieved", "Part Achieved"]).to_numpy(),
                }
            ),
            pd.DataFrame(
                {
                    "indicator_id": "data_capture",
                    "trainer": capture_client.map(trainer).to_numpy(),
                    "hit": capture["is_captured"].to_numpy(),
                }
            ),
        ]
    )
    assert units["trainer"].notna().all(), "every sample client has a known trainer"
    expected = (
        units.groupby(["indicator_id", "trainer"])
        .agg(n=("hit", "sum"), denominator=("hit", "size"))
        .reset_index()
    )
    merged = mart.merge(
        expected,
        left_on=["indicator_id", "health_trainer_id"],
        right_on=["indicator_id", "trainer"],
        how="outer",
        suffixes=("", "_expected"),
    )
    assert len(merged) == len(mart) == len(expected)
    assert (merged["n"] == merged["n_expected"]).all()
    assert (merged["denominator"] == merged["denominator_expected"]).all()
    centre = (
        100
        * expected.groupby("indicator_id")["n"].sum()
        / expected.groupby("indicator_id")["denominator"].sum()
    )
    assert np.allclose(merged["centre_percent"], merged["indicator_id"].map(centre))
    assert_funnel_limits_touch_the_centre(merged)


def assert_funnel_limits_touch_the_centre(rows: pd.DataFrame) -> None:
    """PHE's funnel limit at a denominator d is the percent whose Wilson interval at d
    (95% or 99.8%) has the centre line as its far end: checked by the Wilson formula."""
    z_998 = norm.ppf(0.999)
    for column, z, end in [
        ("upper_95", Z_95, 0),
        ("lower_95", Z_95, 1),
        ("upper_998", z_998, 0),
        ("lower_998", z_998, 1),
    ]:
        inside = rows[(rows[column] > 0) & (rows[column] < 100)]
        assert len(inside) > 0, column
        count = inside[column] / 100 * inside["denominator"]
        bound = wilson(count, inside["denominator"].astype(float), z)[end]
        assert np.allclose(bound, inside["centre_percent"]), column


def test_service_funnels_pool_the_latest_extract_of_each_service(generated_warehouse):
    with connect(generated_warehouse) as con:
        services = con.execute("select * from marts.funnel_services").df()
        totals = con.execute(
            "select indicator_id, sum(n) as n, sum(denominator) as denominator"
            " from marts.funnel_trainers group by indicator_id"
        ).df()
    merged = services.merge(totals, on="indicator_id", suffixes=("", "_trainers"))
    assert set(services["indicator_id"]) == {"goal_achieved_or_part", "php_started", "data_capture"}
    assert (merged["n"] == merged["n_trainers"]).all()
    assert np.allclose(merged["centre_percent"], 100 * merged["n"] / merged["denominator"])
    assert_funnel_limits_touch_the_centre(merged)


def test_data_capture_by_group_matches_an_independent_calculation(sample_warehouse):
    frames = private_frames(sample_warehouse)
    clients = frames["clients"].assign(
        ethnic_group=lambda df: df["ethnicity"].map(ETHNIC_GROUPS),
        health_trainer=lambda df: df["health_trainer_id"].fillna("Not recorded"),
    )
    with connect(sample_warehouse) as con:
        capture = con.execute(
            "select field, population, unit_id, is_captured"
            " from intermediate.int_capture_fields_unpivoted"
        ).df()
        mart = con.execute("select * from marts.data_capture_by_group").df()
        totals = con.execute("select field, recorded, total from marts.data_capture").df()
    goal_client = frames["goals"].set_index("goal_id")["client_id"]
    capture["client_id"] = capture["unit_id"].where(
        capture["population"] != "all goals", capture["unit_id"].map(goal_client)
    )
    long = clients.melt(
        id_vars="client_id",
        value_vars=["health_trainer", *DIMENSIONS],
        var_name="dimension",
        value_name="group_name",
    )
    expected = (
        capture.merge(long, on="client_id")
        .groupby(["field", "dimension", "group_name"])
        .agg(recorded=("is_captured", "sum"), total=("is_captured", "size"))
        .reset_index()
    )
    expected["percent"] = 100 * expected["recorded"] / expected["total"]
    expected["rank_in_field"] = (
        expected.groupby(["field", "dimension"])["percent"].rank(method="min").astype(int)
    )
    merged = mart.merge(
        expected, on=["field", "dimension", "group_name"], how="outer", suffixes=("", "_exp")
    )
    assert len(merged) == len(mart) == len(expected)
    for column in ["recorded", "total", "rank_in_field"]:
        assert (merged[column] == merged[column + "_exp"]).all(), column
    partial = merged[(merged["recorded"] > 0) & (merged["recorded"] < merged["total"])]
    lower, upper = wilson(partial["recorded"], partial["total"].astype(float))
    assert np.allclose(partial["ci_lower"], lower) and np.allclose(partial["ci_upper"], upper)
    # each dimension splits the field's population: its groups add up to marts.data_capture
    summed = mart.groupby(["field", "dimension"])[["recorded", "total"]].sum().reset_index()
    checked = summed.merge(totals, on="field", suffixes=("", "_field"))
    assert (checked["recorded"] == checked["recorded_field"]).all()
    assert (checked["total"] == checked["total_field"]).all()
