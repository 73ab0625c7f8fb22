"""``helios-async batch MANIFEST.csv --out results.jsonl``: a wellness check per manifest row.

Rows are read lazily (``_manifest``) and run ``--concurrency`` at a time through
``HeliosClient.run_wellness_checks``; each finished row appends one whole JSON line to the
output (``_output``); a progress view and a closing summary show how it went (``_display``,
the one module that needs ``rich``). ``--resume`` skips the rows the output already has, by
line number and row hash, after cutting off a partial last line left by a killed run.

Stopping: the first Ctrl-C stops taking new rows and lets the checks in flight finish and
be written, so no run is left behind; a second Ctrl-C (or SIGTERM, or cancelling the task)
cancels them at once. Either way the output stays valid and ``--resume`` carries on.

Exit codes (also in ``helios-async batch --help``): see ``_args.BATCH_EXIT_CODES``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import attrs

from helios_async import (
    HeliosClient,
    InvalidInputError,
    ModelRunCreated,
    PollPolicy,
    WellnessChecks,
    WellnessJob,
    WellnessOutcome,
)

from ._args import (
    DEFAULT_CONCURRENCY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_TERMINATED,
)
from ._display import BatchDisplay, BatchStats, print_summary
from ._manifest import Manifest, row_to_job
from ._output import Recorded, ResultsFile, bad_row_record, load_recorded, outcome_record

__all__ = ["BatchOptions", "batch_command", "run_batch"]

SANDBOX_POLL = PollPolicy(first_interval=0.2, interval=0.5)


@attrs.frozen(kw_only=True)
class BatchOptions:
    """The batch command's arguments. ``deadline`` is seconds per check; ``sandbox_delay``
    the embedded sandbox's processing delay in seconds."""

    manifest: Path
    out: Path
    concurrency: int = DEFAULT_CONCURRENCY
    resume: bool = False
    sandbox: bool = False
    sandbox_delay: float = 0.5
    base_url: str | None = None
    region: str | None = None
    deadline: float | None = None
    check_duration: bool = True
    progress: bool = True


def options_from(args: argparse.Namespace) -> BatchOptions:
    return BatchOptions(
        manifest=args.manifest,
        out=args.out,
        concurrency=args.concurrency,
        resume=args.resume,
        sandbox=args.sandbox,
        sandbox_delay=args.sandbox_delay,
        base_url=args.base_url,
        region=args.region,
        deadline=args.deadline,
        check_duration=args.check_duration,
        progress=args.progress,
    )


async def run_batch(
    options: BatchOptions,
    *,
    out: TextIO,
    err: TextIO | None = None,
    client: HeliosClient | None = None,
) -> int:
    """Run the batch; returns its exit code (``BATCH_EXIT_CODES``). The summary goes to ``out``,
    progress and notes to ``err`` (stderr). ``client`` is an open client to use instead of
    making one (it is left open).

    Raises:
        InvalidInputError: nothing was run (exit status 2).
        OSError: the output could not be read, repaired or written.
        asyncio.CancelledError: the task was cancelled (after writing what finished).
    """
    notes: TextIO = err if err is not None else sys.stderr  # looked up now: tests swap it
    manifest = Manifest(options.manifest)
    recorded = _recorded(options)
    stats = BatchStats(repaired=recorded.repaired)
    for row in manifest.rows():  # a first pass, one row at a time, for the totals
        stats.rows += 1
        stats.to_do += recorded.status(row) != "done"
    stats.already_done = stats.rows - stats.to_do
    if manifest.unknown_columns:
        print(f"note: columns not sent: {', '.join(manifest.unknown_columns)}", file=notes)
    if recorded.unreadable:
        print(f"note: {recorded.unreadable} unreadable line(s) in {options.out}", file=notes)
    if recorded.retrying:
        print(
            f"note: {recorded.retrying} row(s) failed before a run existed; checking them again",
            file=notes,
        )

    stop = _Stop(asyncio.current_task())
    cancelled = False
    try:
        await _run(options, manifest, recorded, stats, stop, err=notes, client=client)
    except asyncio.CancelledError:
        if stop.reason is None or _uncancel() > 0:
            cancelled = True
            raise  # cancelled by someone else: theirs to handle, once the summary is out
    finally:
        stats.ended = time.monotonic()
        if stop.reason is not None or (stop.draining and stats.remaining):
            stats.stopped = stop.reason or "Ctrl-C"
        elif cancelled:
            stats.stopped = "cancelled"
        print_summary(out, stats, manifest=str(options.manifest), output=str(options.out))
    if stop.reason == "SIGTERM":
        return EXIT_TERMINATED
    if stats.stopped is not None:
        return EXIT_INTERRUPTED
    return EXIT_SOME_FAILED if stats.failed else EXIT_OK


async def batch_command(args: argparse.Namespace, out: TextIO) -> int:
    """The CLI's entry: :func:`run_batch`, with a failing output file as one line on stderr.

    Raises:
        InvalidInputError: nothing was run (the CLI exits 2).
    """
    try:
        return await run_batch(options_from(args), out=out)
    except OSError as exc:
        print(f"helios-async: batch stopped: {exc}", file=sys.stderr)
        return EXIT_FAILED


async def _run(
    options: BatchOptions,
    manifest: Manifest,
    recorded: Recorded,
    stats: BatchStats,
    stop: _Stop,
    *,
    err: TextIO,
    client: HeliosClient | None,
) -> None:
    checks: list[WellnessChecks] = []  # the one running, once it exists
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(_make_client(options, stats))
        results = stack.enter_context(ResultsFile(options.out))
        display = stack.enter_context(
            BatchDisplay(
                err,
                stats,
                in_flight=lambda: checks[0].in_flight if checks else 0,
                enabled=options.progress,
            )
        )
        stack.enter_context(stop.handling_signals(display.note))
        in_flight: dict[int, str] = {}  # manifest line -> run id, while its check runs

        def created(job: WellnessJob, run: ModelRunCreated) -> None:
            in_flight[job.key.line] = run.id

        jobs = _jobs(manifest, recorded, results, display, stats, stop)
        outcomes = client.run_wellness_checks(
            jobs, concurrency=options.concurrency, on_created=created
        )
        checks.append(outcomes)
        try:
            async with outcomes:
                async for outcome in outcomes:
                    in_flight.pop(outcome.key.line, None)
                    results.write(outcome_record(outcome.key, outcome))
                    _count(stats, outcome)
                    display.advance()
        finally:
            stats.abandoned = list(in_flight.values())


def _recorded(options: BatchOptions) -> Recorded:
    exists = options.out.exists() and options.out.stat().st_size > 0
    if options.resume:
        return load_recorded(options.out) if exists else Recorded(digests={})
    if exists:
        raise InvalidInputError(
            "--out", f"{options.out} exists: pass --resume to carry it on, or choose another file"
        )
    return Recorded(digests={})


@contextlib.asynccontextmanager
async def _make_client(options: BatchOptions, stats: BatchStats) -> AsyncIterator[HeliosClient]:
    limit = max(100, options.concurrency)  # the pool and the concurrency agree
    if not options.sandbox:
        async with HeliosClient(
            base_url=options.base_url, region=options.region, connection_limit=limit
        ) as client:
            yield client
        return
    from helios_async.testing import Sandbox

    async with (
        Sandbox(processing_delay=options.sandbox_delay, record_bodies=False) as sandbox,
        HeliosClient(
            sandbox.api_key, base_url=sandbox.base_url, poll=SANDBOX_POLL, connection_limit=limit
        ) as client,
    ):
        try:
            yield client
        finally:
            stats.runs_created = sandbox.runs_created()


def _jobs(
    manifest: Manifest,
    recorded: Recorded,
    results: ResultsFile,
    display: BatchDisplay,
    stats: BatchStats,
    stop: _Stop,
) -> Iterator[WellnessJob]:
    """The jobs of the rows still to do, lazily; bad rows are written and reported here."""
    for row in manifest.rows():
        if stop.draining:
            return
        status = recorded.status(row)
        if status == "done":
            continue
        if status == "changed":
            stats.changed += 1
            display.note(f"line {row.line}: changed since it was recorded; checking it again")
        try:
            job = row_to_job(row, manifest.folder)
        except InvalidInputError as exc:
            results.write(bad_row_record(row, exc))
            stats.bad += 1
            display.note(f"line {row.line}: bad row, skipped: {exc}")
            display.advance()
            continue
        yield job


def _count(stats: BatchStats, outcome: WellnessOutcome) -> None:
    error = outcome.error
    if error is None:
        stats.ok += 1
        return
    code = getattr(error, "error_code", None)
    label = type(error).__name__ + (f" {code.value}" if code is not None else "")
    stats.failures[label] += 1


def _uncancel() -> int:
    task = asyncio.current_task()
    return task.uncancel() if task is not None else 0


class _Stop:
    """Ctrl-C and SIGTERM while a batch runs (main thread only; elsewhere nothing changes).

    The first SIGINT sets ``draining``: no new rows are taken, the checks in flight finish.
    A second SIGINT, or SIGTERM, cancels the batch's task at once. The previous handlers
    are restored afterwards.
    """

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self._task = task
        self.draining = False
        self.reason: str | None = None

    @contextlib.contextmanager
    def handling_signals(self, note: Callable[[str], None]) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread() or self._task is None:
            yield
            return
        loop = asyncio.get_running_loop()

        def in_loop(signum: int) -> None:
            if signum == signal.SIGINT and not self.draining:
                self.draining = True
                note(
                    "Stopping: no new rows; waiting for the checks in flight to finish "
                    "(Ctrl-C again to cancel them)."
                )
                return
            self.reason = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
            assert self._task is not None
            self._task.cancel()

        def handler(signum: int, _frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(in_loop, signum)

        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, handler)
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
