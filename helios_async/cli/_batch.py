"""``helios-async batch MANIFEST.csv --out results.jsonl``: a wellness check per manifest row.

Options are checked before anything is written (``_batch_options``); rows are read lazily
(``_manifest``, ``_batch_rows``) and run ``--concurrency`` at a time, each as a journaled
check (``helios_async.run_journaled_check``) in a local run journal beside the output,
``<out>.journal``; each finished row appends one whole JSON line to the output
(``_output``); a progress view and a closing summary show how it went (``_display``, the one
module that needs ``rich``). ``--resume`` skips the rows the output already has, by key (the
optional ``key`` column) or line number and row hash, after cutting off a partial last line
left by a killed run, and picks up from the journal every run a stopped batch created.

Stopping: the first Ctrl-C or SIGTERM stops taking new rows and lets the checks in flight
finish and be written, so no run is left behind; a second one (or cancelling the task)
cancels them at once. Whatever stops the batch, SIGKILL and power loss included, every run it
created was journaled before its recording was uploaded, so ``--resume`` waits on those runs
(or uploads to them) instead of creating new ones. A create in flight at that moment may or
may not have made a run: its row ends ``unknown``, is listed, and is not retried unless
``--retry-unknown`` says so.

Exit codes (also in ``helios-async batch --help``): see ``_args.BATCH_EXIT_CODES``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from typing import Any, TextIO

from helios_async import (
    FileJournal,
    HeliosClient,
    HeliosError,
    InvalidInputError,
    JobState,
    JournalEntry,
    PollPolicy,
    WellnessJob,
    run_journaled_check,
)

from ._args import EXIT_FAILED, EXIT_OK, EXIT_SOME_FAILED
from ._batch_options import (
    BatchOptions,
    check_options,
    journal_path,
    options_from,
    recorded_before,
    to_run,
)
from ._batch_rows import rows_to_do, unique_rows
from ._display import BatchDisplay, BatchStats, print_summary
from ._manifest import Manifest, ManifestRow
from ._output import (
    Recorded,
    ResultsFile,
    entry_record,
    failure_record,
)
from ._signals import DrainOnSignal, catching_signals, exit_status, uncancel

__all__ = ["batch_command", "run_batch"]

SANDBOX_POLL = PollPolicy(first_interval=0.2, interval=0.5)
_UNDECIDED = (JobState.UNKNOWN, JobState.CREATING)  # a create whose outcome is unknown
_REFUSED_LOCALLY = frozenset({"InvalidInputError", "RecordingError"})  # with no run made


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
        OSError: the output or the journal could not be read, repaired or written.
        asyncio.CancelledError: the task was cancelled (after writing what finished).
    """
    notes: TextIO = err if err is not None else sys.stderr  # looked up now: tests swap it
    check_options(options)
    if options.retry_unknown and not options.resume:
        raise InvalidInputError("--retry-unknown", "goes with --resume")
    with contextlib.ExitStack() as held:
        journal = None
        if journal_path(options.out).exists():  # in use by another batch: refused first
            journal = held.enter_context(FileJournal(journal_path(options.out)))
        return await _run_batch(options, notes, out, client, journal)


async def _run_batch(
    options: BatchOptions,
    notes: TextIO,
    out: TextIO,
    client: HeliosClient | None,
    journal: FileJournal | None,
) -> int:
    manifest = Manifest(options.manifest)
    recorded = recorded_before(options, manifest)
    stats = BatchStats(repaired=recorded.repaired)
    undecided = 0
    for row, _ in unique_rows(manifest):  # a first pass, one row at a time, for the totals
        stats.rows += 1
        status = recorded.status(row)
        runs = to_run(status, options)
        stats.to_do += runs
        stats.failed_before += not runs and recorded.failed_before(row)
        undecided += status == "unknown" and not options.retry_unknown
    stats.already_done = stats.rows - stats.to_do
    if not stats.rows:
        raise InvalidInputError("manifest", f"{options.manifest} has a header but no rows")
    if undecided:
        print(
            f"note: {undecided} row(s) whose create's outcome is unknown are not retried "
            "(a run may exist for them); --retry-unknown creates them again",
            file=notes,
        )
    if manifest.unknown_columns:
        print(f"note: columns not sent: {', '.join(manifest.unknown_columns)}", file=notes)
    if recorded.unreadable:
        print(f"note: {recorded.unreadable} unreadable line(s) in {options.out}", file=notes)
    if recorded.retrying:
        print(
            f"note: {recorded.retrying} row(s) stopped before they were done; picking them up",
            file=notes,
        )

    stop = DrainOnSignal(asyncio.current_task())
    cancelled = False
    try:
        await _run(
            options, manifest, recorded, stats, stop, err=notes, client=client, journal=journal
        )
    except asyncio.CancelledError:
        if stop.reason is None or uncancel() > 0:
            cancelled = True
            raise  # cancelled by someone else: theirs to handle, once the summary is out
    finally:
        stats.ended = time.monotonic()
        if stop.reason is not None or (stop.draining and stats.remaining):
            stats.stopped = stop.reason or stop.first
        elif cancelled:
            stats.stopped = "cancelled"
        print_summary(
            out,
            stats,
            manifest=str(options.manifest),
            output=str(options.out),
            journal=str(journal_path(options.out)),
        )
    if stats.stopped is not None:
        return exit_status(stop.first)
    return EXIT_SOME_FAILED if stats.failed or stats.failed_before else EXIT_OK


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
    stop: DrainOnSignal,
    *,
    err: TextIO,
    client: HeliosClient | None,
    journal: FileJournal | None,
) -> None:
    running: set[asyncio.Task[dict[str, Any]]] = set()
    in_flight: dict[str, str] = {}  # journal key -> run id, while its check runs
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(_make_client(options, stats))
        if journal is None:
            journal = stack.enter_context(FileJournal(journal_path(options.out)))
        results = stack.enter_context(
            ResultsFile(options.out, format=options.format, manifest_columns=manifest.columns)
        )
        display = stack.enter_context(
            BatchDisplay(err, stats, in_flight=lambda: len(running), enabled=options.progress)
        )
        stack.enter_context(catching_signals(lambda name: stop.signalled(name, display.note)))

        def track(entry: JournalEntry) -> None:
            if entry.is_final:
                in_flight.pop(entry.key, None)
            elif entry.model_run_id is not None:
                in_flight[entry.key] = entry.model_run_id

        async def check(row: ManifestRow, job: WellnessJob, key: str) -> dict[str, Any]:
            started = time.monotonic()
            state = journal.state_of(key)
            if options.retry_unknown and state in _UNDECIDED:
                await journal.forget(key)  # the user's decision: create it again
            elif state in (JobState.CREATED, JobState.UPLOADED):
                stats.picked_up += 1
            try:
                entry = await run_journaled_check(client, journal, key, job, on_entry=track)
            except HeliosError as exc:
                stored = await journal.get(key)
                return failure_record(
                    row,
                    exc,
                    model_run_id=stored.model_run_id if stored else None,
                    journal=stored.state.value if stored else None,
                    seconds=time.monotonic() - started,
                )
            return entry_record(row, entry, seconds=time.monotonic() - started)

        def finished(task: asyncio.Task[dict[str, Any]]) -> None:
            record = task.result()
            results.write(record)
            _count(stats, record)
            display.advance()

        try:
            for row, job, key in rows_to_do(
                manifest, recorded, results, display, stats, stop, options
            ):
                running.add(asyncio.create_task(check(row, job, key), name=f"batch-{row.line}"))
                while len(running) >= options.concurrency:
                    done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    running.difference_update(done)
                    for task in done:
                        finished(task)
            while running:
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                running.difference_update(done)
                for task in done:
                    finished(task)
        finally:
            await _cancel_and_wait(running)
            stats.abandoned = list(in_flight.values())


async def _cancel_and_wait(tasks: set[asyncio.Task[dict[str, Any]]]) -> None:
    """Cancel the checks in flight and wait until each has stopped (their journal writes
    included), even if cancelled meanwhile (then re-raise that)."""
    for task in tasks:
        task.cancel()
    interrupted: asyncio.CancelledError | None = None
    while pending := [task for task in tasks if not task.done()]:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError as exc:
            interrupted = exc
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: a check that failed as it was cancelled is not lost
    if interrupted is not None:
        raise interrupted


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


def _count(stats: BatchStats, record: dict[str, Any]) -> None:
    error = record["error"]
    if error is None:
        stats.ok += 1
        return
    if record["model_run_id"] is None and error["type"] in _REFUSED_LOCALLY:
        stats.bad += 1  # a missing or too-short recording: refused locally, as a bad cell is
        return
    code = error.get("code")
    stats.failures[error["type"] + (f" {code}" if code else "")] += 1
    if record["journal"] == JobState.UNKNOWN:
        stats.unknown.append(f"line {record['line']}")
