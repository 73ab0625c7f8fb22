"""What the batch command shows: a live progress bar, notes, and the closing summary table.

On a terminal the bar (``rich``) shows rows done of those to do, how many failed, how many
checks are in flight, the rate and the time left. Elsewhere (a log file, CI) a plain line
with the same figures is printed at most every ``plain_interval`` seconds and at the end.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Self, TextIO

import attrs
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

__all__ = ["BatchDisplay", "BatchStats", "print_summary"]


@attrs.define(kw_only=True)
class BatchStats:
    """The figures of one batch invocation; counts are rows, times are seconds."""

    rows: int = 0  # data rows in the manifest
    to_do: int = 0  # rows not already in the output when the run started
    already_done: int = 0  # rows skipped because the output has them (--resume)
    failed_before: int = 0  # of those, rows whose recorded check did not end COMPLETE_OK
    changed: int = 0  # recorded rows whose cells changed since: checked again
    ok: int = 0
    failures: Counter[str] = attrs.field(factory=Counter)  # "Type CODE" -> rows
    bad: int = 0  # rows refused before sending anything: bad cells, unusable recordings
    abandoned: list[str] = attrs.field(factory=list)  # run ids in flight when cancelled
    unknown: list[str] = attrs.field(factory=list)  # rows whose create's outcome is unknown
    picked_up: int = 0  # rows resumed on a run the journal had, instead of a new one
    stopped: str | None = None  # why the run ended early, if it did
    repaired: int = 0  # bytes of a partial last output line removed on resume
    runs_created: int | None = None  # as counted by the embedded sandbox
    started: float = attrs.field(factory=time.monotonic)
    ended: float | None = None

    @property
    def failed(self) -> int:
        """Rows whose check failed, plus bad rows."""
        return sum(self.failures.values()) + self.bad

    @property
    def done(self) -> int:
        """Rows finished in this invocation, well or not."""
        return self.ok + self.failed

    @property
    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else time.monotonic()) - self.started

    @property
    def remaining(self) -> int:
        """Rows neither in the output before nor finished now."""
        return max(self.to_do - self.done, 0)


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} rows/s" if speed else "- rows/s", style="progress.data.speed")


class _InFlightColumn(ProgressColumn):
    def __init__(self, in_flight: Callable[[], int]) -> None:
        super().__init__()
        self._in_flight = in_flight

    def render(self, task: Task) -> Text:
        return Text(f"{self._in_flight()} in flight", style="cyan")


class BatchDisplay:
    """The live view of a batch on ``stream`` (stderr), as a context manager.

    ``in_flight`` is read whenever the view is drawn. With ``enabled=False`` only notes are
    shown.
    """

    def __init__(
        self,
        stream: TextIO,
        stats: BatchStats,
        *,
        in_flight: Callable[[], int],
        enabled: bool = True,
        plain_interval: float = 10.0,
    ) -> None:
        self._stats = stats
        self._in_flight = in_flight
        self._enabled = enabled
        self._plain_interval = plain_interval
        self._last_plain = time.monotonic()
        self._last_figures: tuple[int, ...] | None = None  # of the last plain line printed
        self.console = Console(file=stream, highlight=False, soft_wrap=True)
        self._live = enabled and self.console.is_terminal
        self._progress = Progress(
            TextColumn("[bold]checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            _InFlightColumn(in_flight),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=self.console,
            refresh_per_second=4,
            redirect_stdout=False,
            redirect_stderr=False,
            disable=not self._live,
        )
        self._task = self._progress.add_task("checking", total=stats.to_do, failed=0)

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
        if self._enabled and not self._live:
            self._plain_line(unless_unchanged=True)

    def note(self, message: str) -> None:
        """Print one line above the bar."""
        self.console.print(message, markup=False)

    def advance(self) -> None:
        """Show one more row finished (the figures come from the stats)."""
        self._progress.update(self._task, completed=self._stats.done, failed=self._stats.failed)
        if self._enabled and not self._live:
            now = time.monotonic()
            if now - self._last_plain >= self._plain_interval:
                self._last_plain = now
                self._plain_line()

    def _plain_line(self, *, unless_unchanged: bool = False) -> None:
        """One line of figures; the closing one is left out if it would repeat the last."""
        stats = self._stats
        figures = (stats.done, stats.to_do, stats.failed, self._in_flight())
        if unless_unchanged and figures == self._last_figures:
            return
        self._last_figures = figures
        rate = stats.done / stats.elapsed if stats.elapsed > 0 else 0.0
        self.console.print(
            f"{stats.done}/{stats.to_do} rows done, {stats.failed} failed, "
            f"{figures[3]} in flight, {rate:.1f} rows/s",
            markup=False,
        )


def print_summary(
    stream: TextIO, stats: BatchStats, *, manifest: str, output: str, journal: str
) -> None:
    """The closing table: what this invocation did, and what is left."""
    table = Table()
    table.add_column("rows", overflow="fold")
    table.add_column("count", justify="right", no_wrap=True)
    table.add_row("in the manifest", str(stats.rows))
    if stats.already_done:
        table.add_row("already in the output (skipped)", str(stats.already_done))
    if stats.failed_before:
        table.add_row("  of which failed before", str(stats.failed_before), style="red")
    if stats.changed:
        table.add_row("changed since recorded (checked again)", str(stats.changed))
    if stats.picked_up:
        table.add_row("runs picked up from the journal (not created again)", str(stats.picked_up))
    table.add_row("checked now: COMPLETE_OK", str(stats.ok), style="green")
    for label, count in sorted(stats.failures.items()):
        table.add_row(f"checked now: {label}", str(count), style="red")
    if stats.bad:
        table.add_row("refused locally (nothing sent)", str(stats.bad), style="red")
    table.add_row("not done yet", str(stats.remaining), style="yellow" if stats.remaining else "")
    rate = stats.done / stats.elapsed if stats.elapsed > 0 else 0.0
    table.add_row("elapsed", f"{stats.elapsed:.1f} s")
    table.add_row("rate", f"{rate:.1f} rows/s")
    if stats.runs_created is not None:
        table.add_row("runs created by the sandbox", str(stats.runs_created))
    console = Console(file=stream, highlight=False, soft_wrap=False)
    # The title on its own line, as written: a table title is padded to the table's width
    # and wrapped to it, which off a terminal leaves trailing spaces and broken paths.
    console.print(f"helios-async batch: {manifest} -> {output}", markup=False, soft_wrap=True)
    console.print(table)
    # Sentences are one line each, as written (soft_wrap): no padding, no broken run ids.
    if stats.repaired:
        console.print(
            f"Removed a partial last line ({stats.repaired} bytes) from {output}.",
            markup=False,
            soft_wrap=True,
        )
    if stats.stopped:
        console.print(
            f"Stopped early ({stats.stopped}); rerun with --resume to finish.", soft_wrap=True
        )
    if stats.abandoned:
        console.print(
            f"{len(stats.abandoned)} check(s) were cancelled in flight; their runs are in the "
            f"journal {journal}, and --resume waits on them instead of creating new ones: "
            + ", ".join(stats.abandoned),
            markup=False,
            soft_wrap=True,
        )
    if stats.unknown:
        console.print(
            f"{len(stats.unknown)} row(s) had a create in flight when a batch stopped, so a "
            "run may or may not exist for them; they are not retried: "
            + ", ".join(stats.unknown)
            + ". Once you have checked, rerun with --resume --retry-unknown to create them.",
            markup=False,
            soft_wrap=True,
        )
