"""What ``dcrs run``, ``run-inbox`` and ``rebuild`` print while a run goes: one line per
step of the pipeline, with a spinner, the step's elapsed time and, for ``dbt build``, the
models and tests done so far, while the step runs (in a terminal only); then the run's
summary (``dcrs.cli``).

dbt's own output goes to the warehouse's log file (``dcrs.build``); ``--verbose`` also
prints it as dbt writes it. When standard output is not a terminal (a pipe, cron, a test)
no spinner is drawn and no control code is written: each step's line is printed, plain,
when the step ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

T = TypeVar("T")
NAME_WIDTH = 34


class StepDisplay:
    """The CLI's step runner (``dcrs.pipeline.StepRunner``): runs each step, shows it
    while it runs and prints its line when it ends."""

    def __init__(self, verbose: bool = False, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.verbose = verbose
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._nodes = ""

    def echo(self, message: str) -> None:
        """Print a line (above the spinner, while a step runs)."""
        self.console.print(message, markup=False, highlight=False, soft_wrap=True)

    @property
    def dbt_output(self) -> Callable[[str], None] | None:
        """Where dbt's lines go as dbt writes them: the terminal with ``--verbose``."""
        return self.echo if self.verbose else None

    def dbt_progress(self, done: int, total: int) -> None:
        """dbt has finished ``done`` of its ``total`` models, seeds and tests."""
        self._nodes = f"{done} of {total} models, seeds and tests"
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, nodes=self._nodes)

    def __call__(
        self, name: str, function: Callable[..., T], *arguments: Any, io: bool = False
    ) -> T:
        started = time.perf_counter()
        self._nodes = ""
        try:
            if self.console.is_terminal and not self.verbose:
                with Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description}"),
                    TimeElapsedColumn(),
                    TextColumn("{task.fields[nodes]}"),
                    console=self.console,
                    transient=True,
                ) as progress:
                    self._progress = progress
                    self._task = progress.add_task(name, total=None, nodes="")
                    result = function(*arguments)
            else:
                result = function(*arguments)
        except BaseException:
            self._line(name, started, failed=True)
            raise
        finally:
            self._progress = None
            self._task = None
        self._line(name, started)
        return result

    def _line(self, name: str, started: float, failed: bool = False) -> None:
        seconds = time.perf_counter() - started
        took = f"failed after {seconds:.1f} s" if failed else f"{seconds:5.1f} s"
        detail = f"  ({self._nodes})" if self._nodes else ""
        self.echo(f"  {name:<{NAME_WIDTH}}{took}{detail}")
