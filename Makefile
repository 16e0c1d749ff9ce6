# Everything runs from the locked environment in .venv (uv.lock); `make setup` creates it
# and is safe to re-run.
UV_VERSION := 0.13.9
PYTHON ?= python3
VENV := .venv
export DBT_PROFILES_DIR := $(CURDIR)
export PREFECT_SERVER_ANALYTICS_ENABLED := false

# pytest-xdist: tests run in two processes (this machine's cores); session fixtures (the
# sample's warehouse) are built once in each; the 13-extract service of tests/conftest.py's
# monitoring_warehouse is built once for both, under a file lock
PYTEST := $(VENV)/bin/pytest -n 2 --dist loadgroup

.PHONY: setup run test test-fast lint format sample catalogue confidence-levels clean

setup:
	@$(PYTHON) -m uv --version 2>/dev/null | grep -q "$(UV_VERSION)" || \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(PYTHON) -m uv sync --frozen --compile-bytecode --python $(PYTHON)
	@# parse the dbt project once, as `dcrs run` calls dbt, so that the first run reuses it
	$(VENV)/bin/python -c "from dcrs.build import parse_project; parse_project()"

run: setup
	$(VENV)/bin/dcrs run

test: setup
	$(PYTEST)

# the developer's loop, under 90 s: unit tests, dbt unit tests, loader tests on small inputs
test-fast: setup
	$(PYTEST) -m fast

lint: setup
	$(VENV)/bin/ruff check src tests scripts flows bench
	$(VENV)/bin/ruff format --check src tests scripts flows bench
	@# the dbt templater opens the warehouse (is_incremental() looks for the table): a scratch one
	mkdir -p target && DCRS_WAREHOUSE=target/sqlfluff.duckdb $(VENV)/bin/sqlfluff lint models macros tests/dbt

format: setup
	$(VENV)/bin/ruff format src tests scripts flows bench
	$(VENV)/bin/ruff check --fix src tests scripts flows bench

sample: setup
	$(VENV)/bin/python scripts/make_sample_export.py

# the measures' views, their docs, the BI exposure and the measure_catalogue macro, from
# seeds/measures.csv and seeds/measure_categories.csv (docs/adding-a-measure.md)
catalogue:
	$(PYTHON) scripts/generate_measure_models.py

# seeds/confidence_levels.csv: the z of each confidence level (95%, 99.8%), from scipy
confidence-levels: setup
	$(VENV)/bin/python scripts/generate_confidence_levels.py

clean:
	rm -rf target logs warehouse .pytest_cache
