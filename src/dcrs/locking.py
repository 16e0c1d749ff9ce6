"""One run at a time per warehouse, on any operating system (the ``filelock`` package:
``fcntl`` on POSIX, ``msvcrt`` on Windows). The operating system releases the lock when
its holder dies, so a held lock always means a live run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

# How long a run waits for another run of the same warehouse to end, by default: longer
# than a national-scale run takes (docs/performance.md), shorter than a monthly schedule.
DEFAULT_WAIT_SECONDS = 3600


class RunInProgress(Exception):
    """Another run held the warehouse's lock for longer than this run would wait."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


@contextlib.contextmanager
def exclusive_run(
    warehouse: Path,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    echo: Callable[[str], None] = print,
) -> Iterator[None]:
    """Hold the warehouse's lock for the run. When another run holds it, say so and wait
    for it up to ``wait_seconds``; then give up with RunInProgress."""
    lock = FileLock(lock_path(warehouse), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        echo(
            f"Another run is building {warehouse}: waiting for it to end (up to {wait_seconds:g} s)"
        )
        try:
            lock.acquire(timeout=wait_seconds)
        except Timeout as error:
            raise RunInProgress(
                f"{warehouse}: another run has been building this warehouse for over "
                f"{wait_seconds:g} s; try again when it ends"
            ) from error
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def try_exclusive_run(warehouse: Path) -> Iterator[bool]:
    """Hold the warehouse's lock if no run holds it; yields whether it is held."""
    if not warehouse.parent.is_dir():
        yield False
        return
    lock = FileLock(lock_path(warehouse), timeout=0)
    try:
        lock.acquire()
    except (Timeout, OSError):  # held by a run, or a folder this user cannot write
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
