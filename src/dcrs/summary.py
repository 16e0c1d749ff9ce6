"""Plain summaries of a run, for the Prefect artifact and the command line."""

from __future__ import annotations

from typing import Any


def _number(value: Any, decimals: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{decimals}f}"


def run_markdown(summary: Any) -> str:
    """Markdown: the headline figures and the data-capture checks of one run."""
    headline = summary.headline
    rows = [
        ("Clients registered", _number(headline["clients_registered"])),
        ("Women / men", f"{headline['women']} / {headline['men']}"),
        ("Eligible clients", _number(headline["eligible_clients"])),
        ("Clients with a Personal Health Plan", _number(headline["clients_with_php"])),
        ("Goals set", _number(headline["goals_set"])),
        (
            "Health trainers in post (WTE)",
            f"{headline['health_trainers_in_post']} ({_number(headline['total_wte'])})",
        ),
        ("Clients per WTE", _number(headline["clients_per_wte"])),
        ("PHP to client ratio", _number(headline["php_to_client_ratio"], 2)),
        (
            "12-month projection: clients / PHPs",
            f"{_number(headline['projected_clients_12_months'], 0)} / "
            f"{_number(headline['projected_phps_12_months'], 0)}",
        ),
        (
            "Clients in target wards (of all / of recorded)",
            f"{_number(headline['target_ward_percent_of_all'])}% / "
            f"{_number(headline['target_ward_percent_of_recorded'])}% "
            f"(target {_number(headline['target_ward_percent_target'], 0)}%)",
        ),
        (
            "Goals achieved or part achieved",
            f"{_number(headline['goals_achieved_or_part_percent'])}%",
        ),
    ]
    lines = [
        f"# {summary.service_name}: extract {summary.extract_date}",
        "",
        f"Export `{summary.export_dir}`, published to `{summary.warehouse}`.",
        f"Rows loaded {summary.rows_staged:,}, rejected {summary.rows_rejected:,}; "
        f"values counted as Invalid {summary.values_invalid:,}.",
        "",
        "## Headline figures",
        "",
        "| figure | value |",
        "| --- | --- |",
        *[f"| {label} | {value} |" for label, value in rows],
        "",
        "## Data capture",
        "",
        "| field | population | recorded | percent | standard | last extract | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in summary.quality:
        if result.suite != "data_capture":
            continue
        previous = summary.previous_capture.get(result.field)
        lines.append(
            f"| {result.field} | {result.population} | {result.recorded} of {result.total} "
            f"| {_number(result.observed_value)}% | {_number(result.threshold, 0)}% "
            f"| {_number(previous) + '%' if previous is not None else 'none'} "
            f"| {'meets' if result.passed else '**below**'} |"
        )
    other_failures = [result for result in summary.failed_checks if result.suite != "data_capture"]
    lines += ["", "## Validity and structure", ""]
    if other_failures:
        lines += [
            f"- **{result.check}**: {result.description} "
            f"({_number(result.observed_value, 0)} unexpected)"
            for result in other_failures
        ]
    else:
        checked = sum(1 for result in summary.quality if result.suite != "data_capture")
        lines.append(f"All {checked} validity and structure checks passed.")
    lines += ["", f"Alerts: {summary.alert}"]
    return "\n".join(lines) + "\n"
