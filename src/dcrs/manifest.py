"""``manifest.json``: its schema (pydantic) and how it is read.

The manifest names the service and the extract, and how many data rows each file holds.
Every value is checked against the schema before anything is loaded: a value of the wrong
type or form makes the export untrusted (ExportError naming the manifest and the field),
never a service called ``None`` or a date read from a number. Keys the schema does not
name are allowed and ignored.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

from dcrs.export_contract import EXPORT_FILES, MANIFEST_FILE, ExportError

SERVICE_CODE = re.compile(r"[A-Za-z0-9]{1,16}", re.ASCII)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
SERVICE_NAME_MAX = 200
# the largest count raw.export_files holds (an integer column)
ROW_COUNT_MAX = 2**31 - 1

# What each field must be, in words, for the messages.
EXPECTED = {
    "service_code": "a code of 1 to 16 letters and digits, such as KC",
    "service_name": f"the service's name, on one line of at most {SERVICE_NAME_MAX} characters",
    "extract_date": "a date written YYYY-MM-DD, not after today",
    "row_counts": "an object giving each file's number of data rows",
    "row_count": "a whole number of data rows, 0 or more",
}


@dataclass
class Manifest:
    """A checked manifest: the service (its code upper-cased), the extract date, and the
    number of data rows of each file of the contract."""

    service_code: str
    service_name: str
    extract_date: dt.date
    row_counts: dict[str, int]


def _service_code(value: str) -> str:
    code = value.strip()
    if not SERVICE_CODE.fullmatch(code):
        raise ValueError("is not 1 to 16 letters and digits")
    return code.upper()


def _service_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError("is blank")
    if any(unicodedata.category(character) in ("Cc", "Zl", "Zp") for character in name):
        raise ValueError("holds a line break or control character")
    if len(name) > SERVICE_NAME_MAX:
        raise ValueError(f"is longer than {SERVICE_NAME_MAX} characters")
    return name


def _extract_date(value: str) -> dt.date:
    if not ISO_DATE.fullmatch(value):
        raise ValueError("is not written YYYY-MM-DD")
    try:
        date = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a date of the calendar") from None
    if date > dt.date.today():
        raise ValueError(f"is after today ({dt.date.today().isoformat()})")
    return date


RowCount = Annotated[StrictInt, Field(ge=0, le=ROW_COUNT_MAX)]

# One field per file of the contract, named by the file (row_counts' keys are file names);
# other files listed in row_counts are ignored.
RowCounts = create_model(
    "RowCounts",
    __config__=ConfigDict(extra="ignore"),
    **{
        export_file.table: (RowCount, Field(alias=export_file.file_name))
        for export_file in EXPORT_FILES
    },
)


class ManifestSchema(BaseModel):
    """The schema of manifest.json (strict: no value is converted from another type)."""

    model_config = ConfigDict(extra="allow")

    service_code: Annotated[StrictStr, AfterValidator(_service_code)]
    service_name: Annotated[StrictStr, AfterValidator(_service_name)]
    # text in the file, a date once validated
    extract_date: Annotated[StrictStr, AfterValidator(_extract_date)]
    row_counts: RowCounts  # type: ignore[valid-type]


def _json_kind(value: Any) -> str:
    """What a JSON value is, in words (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _describe(error: dict[str, Any]) -> str:
    """One schema breach in words: the field, what is wrong, what it must be."""
    location = [str(part) for part in error["loc"]]
    if location[0] == "row_counts" and len(location) > 1:
        field, expected = f'row_counts["{location[1]}"]', EXPECTED["row_count"]
    else:
        field, expected = location[0], EXPECTED[location[0]]
    kind = error["type"]
    if kind == "missing":
        problem = "is missing"
    elif kind == "value_error":
        problem = str(error["ctx"]["error"])
    elif kind == "greater_than_equal":
        problem = "is negative"
    elif kind == "less_than_equal":
        problem = "is larger than any export"
    else:  # a value of another JSON type
        problem = f"is {_json_kind(error['input'])}"
    return f"{field} {problem}; it must be {expected}"


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} is given more than once")
    return dict(pairs)


def read_manifest(export_dir: Path) -> Manifest:
    """Read and check ``manifest.json``; raise ExportError naming the field and the problem."""
    path = export_dir / MANIFEST_FILE
    if not export_dir.is_dir():
        raise ExportError(export_dir, "the export folder does not exist")
    if not path.is_file():
        raise ExportError(path, "the manifest is missing")
    try:
        document = json.loads(
            path.read_bytes().decode("utf-8-sig"), object_pairs_hook=_object_without_repeats
        )
    except UnicodeDecodeError as error:
        raise ExportError(
            path, f"the manifest cannot be read as JSON (not UTF-8 at byte {error.start})"
        ) from error
    except json.JSONDecodeError as error:
        raise ExportError(
            path,
            f"the manifest cannot be read as JSON ({error.msg}: line {error.lineno} "
            f"column {error.colno})",
        ) from error
    except ValueError as error:  # a key named twice
        raise ExportError(path, f"the manifest cannot be read: {error}") from error
    except RecursionError as error:
        raise ExportError(path, "the manifest cannot be read as JSON (nested too deep)") from error
    if not isinstance(document, dict):
        raise ExportError(path, "the manifest is not a JSON object")
    try:
        checked = ManifestSchema.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(_describe(item) for item in error.errors())
        raise ExportError(path, problems) from None
    counts = checked.row_counts.model_dump(by_alias=True)
    return Manifest(
        service_code=checked.service_code,
        service_name=checked.service_name,
        extract_date=checked.extract_date,
        row_counts={
            export_file.file_name: counts[export_file.file_name] for export_file in EXPORT_FILES
        },
    )
