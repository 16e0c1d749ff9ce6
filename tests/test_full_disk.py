"""A full disk: the run stops with exit 8 and the last good release stays whole.

The warehouse's folder is a small tmpfs holding a copy of the sample's release, filled so
that the next extract's build cannot fit. Mounting needs root (or CAP_SYS_ADMIN): without
it the test is skipped and says so.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import copy_warehouse, outputs_of, run_dcrs
from test_release import published_extracts, september_export

from dcrs.warehouse import private_store

# room for the sample's release (about 16 MB with its outputs) and the lock and log
# files, not for a second build beside it
TMPFS_SIZE = "40M"
FREE_AFTER_FILLING = 4 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path):
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def fingerprints(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def fill(folder: Path, leave_free: int) -> None:
    """Write a filler file until only ``leave_free`` bytes are left on the file system."""
    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as filler:
        filler.write(b"\0" * max(free - leave_free, 0))


def test_a_full_disk_is_exit_8_and_the_last_release_stays_whole(
    sample_warehouse, small_disk, tmp_path
):
    warehouse = copy_warehouse(sample_warehouse, small_disk / "dcrs.duckdb")
    shutil.copytree(outputs_of(sample_warehouse), outputs_of(warehouse))
    fill(small_disk, FREE_AFTER_FILLING)
    release_before = {
        "warehouse": hashlib.sha256(warehouse.read_bytes()).hexdigest(),
        "private store": hashlib.sha256(private_store(warehouse).read_bytes()).hexdigest(),
        **fingerprints(outputs_of(warehouse)),
    }

    result = run_dcrs(september_export(tmp_path), warehouse, None, "--wait", "0")

    assert result.returncode == 8, result.stdout + result.stderr
    assert "No space left on device" in result.stderr
    assert "Nothing was published; the last good warehouse was left as it was." in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    release_after = {
        "warehouse": hashlib.sha256(warehouse.read_bytes()).hexdigest(),
        "private store": hashlib.sha256(private_store(warehouse).read_bytes()).hexdigest(),
        **fingerprints(outputs_of(warehouse)),
    }
    assert release_after == release_before
    assert set(published_extracts(warehouse).values()) == {"2010-08-31"}
    # the failed build's folder is gone, so the space is free again for the next month
    assert sorted(path.name for path in small_disk.iterdir()) == [
        "dcrs",
        "dcrs.duckdb",
        "dcrs.duckdb.lock",
        "dcrs.duckdb.log",
        "dcrs.private.duckdb",
        "filler",
    ]
