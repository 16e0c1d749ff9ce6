"""`dbt docs generate` gives lineage and column documentation, with the exposures."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import ROOT, copy_warehouse

from dcrs.build import dbt_command


def test_docs_generate_documents_every_model_and_exposure(sample_warehouse, tmp_path):
    warehouse = tmp_path / "docs.duckdb"
    copy_warehouse(sample_warehouse, warehouse)
    target = tmp_path / "target"
    result = subprocess.run(
        dbt_command(
            "docs", "generate", "--target-path", str(target), "--log-path", str(tmp_path / "logs")
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "DCRS_WAREHOUSE": str(warehouse)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    for name, node in models.items():
        assert node["description"].strip(), f"{name} has no description"
        assert "One row per" in node["description"], f"{name} does not state its grain"
    exposures = {node["name"]: node for node in manifest["exposures"].values()}
    assert {"monthly_service_report", "bi_marts"} <= set(exposures)
    assert "model.dcrs.measure_breakdown" in exposures["bi_marts"]["depends_on"]["nodes"]
    # lineage: the breakdown descends from the staged clients
    assert (
        "model.dcrs.int_measure_members_categorised"
        in (manifest["nodes"]["model.dcrs.measure_breakdown"]["depends_on"]["nodes"])
    )
    documented = models["measure_breakdown"]["columns"]
    catalogued = catalog["nodes"]["model.dcrs.measure_breakdown"]["columns"]
    assert set(documented) == {name.lower() for name in catalogued}
    assert all(column["description"] for column in documented.values())
    assert (target / "index.html").exists()
