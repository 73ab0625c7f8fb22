"""``helios-async batch MANIFEST.csv --out results.jsonl``: a wellness check per manifest row.

Rows are read lazily (``_manifest``) and run ``--concurrency`` at a time, each as a journaled
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
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TextIO

import attrs

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

from ._args import (
    DEFAULT_CONCURRENCY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SOME_FAILED,
)
from ._csv_output import csv_columns
from ._display import BatchDisplay, BatchStats, print_summary
from ._manifest import KEY_COLUMN, Manifest, ManifestRow, row_to_job
from ._output import (
    FORMATS,
    Recorded,
    ResultsFile,
    bad_row_record,
    entry_record,
    failure_record,
    load_recorded,
)
from ._signals import DrainOnSignal, catching_signals, exit_status

__all__ = ["BatchOptions", "batch_command", "journal_path", "run_batch"]

SANDBOX_POLL = PollPolicy(first_interval=0.2, interval=0.5)
_UNDECIDED = (JobState.UNKNOWN, JobState.CREATING)  # a create whose outcome is unknown


@attrs.frozen(kw_only=True)
class BatchOptions:
    """The batch command's arguments. ``deadline`` is seconds per check; ``sandbox_delay``
    the embedded sandbox's processing delay in seconds."""

    manifest: Path
    out: Path
    concurrency: int = DEFAULT_CONCURRENCY
    resume: bool = False
    retry_unknown: bool = False
    sandbox: bool = False
    sandbox_delay: float = 0.5
    base_url: str | None = None
    region: str | None = None
    deadline: float | None = None
    check_duration: bool = True
    progress: bool = True
    format: str = "jsonl"


def journal_path(out: Path) -> Path:
    """The run journal of an output: beside it, its name plus ``.journal``."""
    return out.with_name(out.name + ".journal")


def options_from(args: argparse.Namespace) -> BatchOptions:
    return BatchOptions(
        manifest=args.manifest,
        out=args.out,
        concurrency=args.concurrency,
        resume=args.resume,
        retry_unknown=args.retry_unknown,
        sandbox=args.sandbox,
        sandbox_delay=args.sandbox_delay,
        base_url=args.base_url,
        region=args.region,
        deadline=args.deadline,
        check_duration=args.check_duration,
        progress=args.progress,
        format=args.format,
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
        OSError: the output or the journal could not be read, repaired or written.
        asyncio.CancelledError: the task was cancelled (after writing what finished).
    """
    notes: TextIO = err if err is not None else sys.stderr  # looked up now: tests swap it
    check_options(options)
    if options.retry_unknown and not options.resume:
        raise InvalidInputError("--retry-unknown", "goes with --resume")
    manifest = Manifest(options.manifest)
    recorded = _recorded(options, manifest)
    stats = BatchStats(repaired=recorded.repaired)
    undecided = 0
    for row, _ in _rows(manifest):  # a first pass, one row at a time, for the totals
        stats.rows += 1
        status = recorded.status(row)
        to_run = _to_run(status, options)
        stats.to_do += to_run
        stats.failed_before += not to_run and recorded.failed_before(row)
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
        await _run(options, manifest, recorded, stats, stop, err=notes, client=client)
    except asyncio.CancelledError:
        if stop.reason is None or _uncancel() > 0:
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


def _to_run(status: str, options: BatchOptions) -> bool:
    return status not in ("done", "unknown") or (status == "unknown" and options.retry_unknown)


async def _run(
    options: BatchOptions,
    manifest: Manifest,
    recorded: Recorded,
    stats: BatchStats,
    stop: DrainOnSignal,
    *,
    err: TextIO,
    client: HeliosClient | None,
) -> None:
    running: set[asyncio.Task[dict[str, Any]]] = set()
    in_flight: dict[str, str] = {}  # journal key -> run id, while its check runs
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            client = await stack.enter_async_context(_make_client(options, stats))
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
            for row, job, key in _jobs(manifest, recorded, results, display, stats, stop, options):
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


def check_options(options: BatchOptions) -> None:
    """Refuse what would fail later, before the output is created or anything printed.

    Raises:
        InvalidInputError: ``concurrency`` below 1; ``out`` is a directory, not writable, or
            in a folder that does not exist or cannot be written; an unknown ``format``.
    """
    if options.concurrency < 1:
        raise InvalidInputError(
            "--concurrency", f"must be 1 or more checks at once; got {options.concurrency}"
        )
    if options.format not in FORMATS:
        raise InvalidInputError("--format", f"must be one of {', '.join(FORMATS)}")
    out = options.out
    if out.is_dir():
        raise InvalidInputError("--out", f"{out} is a directory; name a file in it")
    if out.exists():
        if not out.is_file() or not os.access(out, os.W_OK):
            raise InvalidInputError("--out", f"{out} cannot be written")
        return
    folder = out.absolute().parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise InvalidInputError("--out", f"{out} cannot be created: {folder} {problem}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInputError("--out", f"{out} cannot be created: {folder} is not writable")


def _recorded(options: BatchOptions, manifest: Manifest) -> Recorded:
    exists = options.out.exists() and options.out.stat().st_size > 0
    journal = journal_path(options.out)
    if options.resume:
        if not exists:
            return Recorded(digests={})
        columns = csv_columns(manifest.columns) if options.format == "csv" else None
        return load_recorded(options.out, csv_columns=columns)
    if exists:
        raise InvalidInputError(
            "--out", f"{options.out} exists: pass --resume to carry it on, or choose another file"
        )
    if journal.exists() and journal.stat().st_size > 0:
        raise InvalidInputError(
            "--out", f"{journal} exists: pass --resume to carry its runs on, or remove it"
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
    stop: DrainOnSignal,
    options: BatchOptions,
) -> Iterator[tuple[ManifestRow, WellnessJob, str]]:
    """The rows still to do, lazily, with their jobs and journal keys; bad rows are written
    and reported here. A row's journal key is its identity and row hash, so an edited row
    is a new job."""
    for row, duplicate in _rows(manifest):
        if stop.draining:
            return
        status = recorded.status(row)
        if not _to_run(status, options):
            continue
        if status == "changed":
            stats.changed += 1
            display.note(f"line {row.line}: changed since it was recorded; checking it again")
        try:
            job = _job(row, manifest, duplicate)
        except InvalidInputError as exc:
            results.write(bad_row_record(row, exc))
            stats.bad += 1
            display.note(f"line {row.line}: bad row, skipped: {exc}")
            display.advance()
            continue
        yield row, job, f"{row.identity}#{row.digest}"


def _rows(manifest: Manifest) -> Iterator[tuple[ManifestRow, InvalidInputError | None]]:
    """The manifest's rows, each with the error of a key that repeats an earlier row's; such a
    row loses its key cell, so it is known by its line and never taken for the first."""
    keys: dict[str, int] = {}  # key cell -> the line that has it
    for row in manifest.rows():
        if row.key is None or keys.setdefault(row.key, row.line) == row.line:
            yield row, None
            continue
        error = InvalidInputError("key", f"repeats the key of line {keys[row.key]}")
        cells = {name: text for name, text in row.cells.items() if name != KEY_COLUMN}
        yield attrs.evolve(row, cells=cells), error


def _job(row: ManifestRow, manifest: Manifest, duplicate: InvalidInputError | None) -> WellnessJob:
    if duplicate is not None:
        raise duplicate
    return row_to_job(row, manifest.folder)


def _count(stats: BatchStats, record: dict[str, Any]) -> None:
    error = record["error"]
    if error is None:
        stats.ok += 1
        return
    code = error.get("code")
    stats.failures[error["type"] + (f" {code}" if code else "")] += 1
    if record["journal"] == JobState.UNKNOWN:
        stats.unknown.append(f"line {record['line']}")


def _uncancel() -> int:
    task = asyncio.current_task()
    return task.uncancel() if task is not None else 0
