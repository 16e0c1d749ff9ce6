"""The mart contract (shared/tools/check-mart-contract) on a warehouse whose
marts.measure_breakdown has more columns than the contract's 13 (the 99.8% level, the
verdicts, polarity: docs/decisions.md): the tool is run on a copy narrowed to the
contract's columns, which it names itself."""

from __future__ import annotations

import subprocess
import sys
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

from conftest import SHARED, connect, copy_warehouse

CHECKER = SHARED / "tools" / "check-mart-contract"


def contract_columns() -> list[str]:
    """The contract's measure_breakdown columns, read from the tool."""
    loader = SourceFileLoader("check_mart_contract", str(CHECKER))
    module = module_from_spec(spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return list(module.BREAKDOWN_COLUMNS)


def narrowed_to_contract(warehouse: Path, folder: Path) -> Path:
    """A copy of the warehouse in ``folder`` whose marts.measure_breakdown holds only the
    contract's columns, in its order."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = copy_warehouse(warehouse, folder)
    with connect(copy, read_only=False) as con:
        con.execute(
            "create or replace table marts.measure_breakdown as select "
            f"{', '.join(contract_columns())} from marts.measure_breakdown"
        )
    return copy


def check_mart_contract(warehouse: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECKER), str(warehouse)],
        capture_output=True,
        text=True,
        check=False,
    )
