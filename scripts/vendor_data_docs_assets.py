#!/usr/bin/env python3
"""Vendor the CSS, JavaScript and fonts that Great Expectations' Data Docs pages use, so
that the pages render with no network (src/dcrs/data_docs/vendor/).

GX 1.x's page templates load these from CDNs; dcrs.data_docs replaces those links with
the files this script copies. Each comes from the npm package of the version GX's templates
name (bootstrap-table's filter-control stylesheet, named at 1.19.0 there, is taken from
1.19.1 like the rest of the package), downloaded with `npm pack` (no node_modules, no
install scripts run), with the package's licence beside it. Only the files the pages load
are kept; vega, vega-lite and vega-embed are left out: GX loads them for charts, and none of
our expectations renders one (tests/test_data_docs.py fails if a page ever holds a chart).

Usage, from the repository root (needs npm; rewrites the vendor folder):

    python scripts/vendor_data_docs_assets.py
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "src" / "dcrs" / "data_docs" / "vendor"

# popper.js 1.12.9 ships no licence file: its package.json says MIT, its files carry
# "Copyright (C) Federico Zivolo 2017, Distributed under the MIT License".
MIT_POPPER = """\
The MIT License (MIT)

Copyright (c) 2017 Federico Zivolo and contributors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


@dataclass(frozen=True)
class Package:
    """One npm package: the files to keep (path in the package -> path in its folder)."""

    spec: str
    folder: str
    licence: str
    files: dict[str, str]
    # where GX's templates load it from, for the README
    replaces: str
    licence_text: str | None = None


PACKAGES = (
    Package(
        spec="jquery@3.7.1",
        folder="jquery-3.7.1",
        licence="MIT",
        files={"LICENSE.txt": "LICENSE.txt", "dist/jquery.min.js": "jquery.min.js"},
        replaces="code.jquery.com",
    ),
    Package(
        spec="popper.js@1.12.9",
        folder="popper.js-1.12.9",
        licence="MIT",
        files={"dist/umd/popper.min.js": "popper.min.js"},
        replaces="cdnjs.cloudflare.com",
        licence_text=MIT_POPPER,
    ),
    Package(
        spec="bootstrap@4.3.1",
        folder="bootstrap-4.3.1",
        licence="MIT",
        files={
            "LICENSE": "LICENSE",
            "dist/css/bootstrap.min.css": "bootstrap.min.css",
            "dist/js/bootstrap.min.js": "bootstrap.min.js",
        },
        replaces="maxcdn.bootstrapcdn.com, stackpath.bootstrapcdn.com",
    ),
    Package(
        spec="bootstrap-table@1.19.1",
        folder="bootstrap-table-1.19.1",
        licence="MIT",
        files={
            "LICENSE": "LICENSE",
            "dist/bootstrap-table.min.css": "bootstrap-table.min.css",
            "dist/bootstrap-table.min.js": "bootstrap-table.min.js",
            "dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
                "bootstrap-table-filter-control.min.css"
            ),
            "dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
                "bootstrap-table-filter-control.min.js"
            ),
        },
        replaces="unpkg.com",
    ),
    Package(
        spec="bootstrap-datepicker@1.9.0",
        folder="bootstrap-datepicker-1.9.0",
        licence="Apache-2.0",
        files={
            "LICENSE": "LICENSE",
            "dist/css/bootstrap-datepicker.min.css": "bootstrap-datepicker.min.css",
            "dist/js/bootstrap-datepicker.min.js": "bootstrap-datepicker.min.js",
        },
        replaces="cdnjs.cloudflare.com",
    ),
    Package(
        spec="@forevolve/bootstrap-dark@1.1.0",
        folder="bootstrap-dark-1.1.0",
        licence="MIT",
        files={
            "LICENSE": "LICENSE",
            "dist/css/bootstrap-prefers-dark.min.css": "bootstrap-prefers-dark.min.css",
        },
        replaces="cdn.jsdelivr.net",
    ),
    # the pages use solid icons only (fas): the core stylesheet, the solid style and its
    # woff2 font (every browser that runs the pages reads woff2; the ttf is not fetched)
    Package(
        spec="@fortawesome/fontawesome-free@6.6.0",
        folder="fontawesome-free-6.6.0",
        licence="CC BY 4.0 (icons), SIL OFL 1.1 (fonts), MIT (code)",
        files={
            "LICENSE.txt": "LICENSE.txt",
            "css/fontawesome.min.css": "css/fontawesome.min.css",
            "css/solid.min.css": "css/solid.min.css",
            "webfonts/fa-solid-900.woff2": "webfonts/fa-solid-900.woff2",
        },
        replaces="cdnjs.cloudflare.com",
    ),
)


def npm_pack(spec: str, into: Path) -> Path:
    """Download the package's tarball (no install, no scripts) and unpack it."""
    name = subprocess.run(
        ["npm", "pack", "--silent", "--ignore-scripts", spec],
        cwd=into,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    target = into / name.removesuffix(".tgz")
    with tarfile.open(into / name) as archive:
        archive.extractall(target, filter="data")
    return target / "package"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor(package: Package, work: Path) -> str:
    """Copy the package's files into its folder; the README's row for it."""
    source = npm_pack(package.spec, work)
    folder = VENDOR / package.folder
    folder.mkdir(parents=True)
    for inside, target in package.files.items():
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / inside, folder / target)
    if package.licence_text is not None:
        (folder / "LICENSE").write_text(package.licence_text, encoding="utf-8")
    return f"| `{package.spec}` | {package.licence} | {package.replaces} |"


def write_readme(rows: list[str]) -> None:
    checksums = [
        f"    {sha256(path)}  {path.relative_to(VENDOR).as_posix()}"
        for path in sorted(VENDOR.rglob("*"))
        if path.is_file() and path.name != "README.md"
    ]
    table = "\n".join(rows)
    listing = "\n".join(checksums)
    (VENDOR / "README.md").write_text(
        "# Data Docs assets, vendored\n\n"
        "The CSS, JavaScript and font files that Great Expectations' Data Docs pages use,\n"
        "copied into each run's `data_docs/static/vendor/` so that the pages render with no\n"
        "network (`dcrs.data_docs`). Written by `scripts/vendor_data_docs_assets.py` from\n"
        "the npm packages of the versions GX's page templates name; do not edit by hand.\n"
        "Each folder holds its package's licence.\n\n"
        "| npm package | licence | replaces GX's link to |\n"
        f"| --- | --- | --- |\n{table}\n\nSHA-256 of every file:\n\n{listing}\n",
        encoding="utf-8",
    )


def main() -> int:
    if shutil.which("npm") is None:
        print("npm is not installed", file=sys.stderr)
        return 1
    shutil.rmtree(VENDOR, ignore_errors=True)
    VENDOR.mkdir(parents=True)
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as work:
        for package in PACKAGES:
            rows.append(vendor(package, Path(work)))
    write_readme(rows)
    size = sum(path.stat().st_size for path in VENDOR.rglob("*") if path.is_file())
    print(f"vendored {len(PACKAGES)} packages into {VENDOR.relative_to(ROOT)} ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
