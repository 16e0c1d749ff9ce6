"""Student's t quantiles for the two-sided intervals of the wellbeing mean changes
(marts.wellbeing_outcomes): one row per degrees of freedom, from 1 to the largest a
service's paired clients need this run (at least 1). DuckDB has no t quantile function,
so scipy computes them. The confidence level is the one the Wilson intervals use:
its two-sided z (1.96) is the normal quantile, so the t quantile is taken at the
same probability, Phi(z) (0.975 for 95%), z from the confidence_levels seed (ci_95)."""


def model(dbt, session):
    dbt.config(materialized="table")
    import pandas as pd
    from scipy import stats

    changes = dbt.ref("int_wellbeing_changes_computed")
    # fetchall: DuckDB 2.0 refuses further work on a connection with an unfinished result
    ((largest_group,),) = (
        changes.aggregate("count(*) as paired", "service_code, extract_date, instrument")
        .aggregate("coalesce(max(paired), 0)")
        .fetchall()
    )
    ((confidence_z,),) = (
        dbt.ref("confidence_levels")
        .filter("confidence_level_id = 'ci_95'")
        .aggregate("max(two_sided_z)")
        .fetchall()
    )
    confidence_z = float(confidence_z)
    probability = float(stats.norm.cdf(confidence_z))
    degrees_of_freedom = list(range(1, max(int(largest_group) - 1, 1) + 1))
    return pd.DataFrame(
        {
            "degrees_of_freedom": pd.Series(degrees_of_freedom, dtype="int64"),
            "probability": probability,
            "t_quantile": stats.t.ppf(probability, degrees_of_freedom),
        }
    )
