"""One run at a time per warehouse, on any operating system (the ``filelock`` package:
``fcntl`` on POSIX, ``msvcrt`` on Windows)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout


class RunInProgress(Exception):
    """Another run holds the warehouse's lock."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


@contextlib.contextmanager
def exclusive_run(warehouse: Path) -> Iterator[None]:
    """Hold the warehouse's lock for the run; a second run fails at once instead of
    sharing the build folder."""
    lock = FileLock(lock_path(warehouse), timeout=0)
    try:
        lock.acquire()
    except Timeout as error:
        raise RunInProgress(
            f"{warehouse}: another run is building this warehouse; try again when it ends"
        ) from error
    try:
        yield
    finally:
        lock.release()
