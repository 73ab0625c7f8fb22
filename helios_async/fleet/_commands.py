"""What ``helios-async fleet worker|submit|collect|status|unknown|forget`` do, once parsed.

The parser lives in ``helios_async.cli._fleet`` (so building the CLI never imports the
engine); it calls :func:`fleet_command` here when a fleet command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from helios_async import InvalidInputError

if TYPE_CHECKING:
    from ._names import BatchNames
    from ._state import BatchCounts
    from ._submit import Submission

__all__ = ["fleet_command", "format_counts", "manifest_submissions"]


async def fleet_command(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``helios-async fleet ...``; returns the exit status (0 done, 1 failed, 2 refused).

    A Redis that cannot be reached (or refuses the login) is one line on stderr and exit 1.

    Raises:
        InvalidInputError: no Redis URL, a bad name or manifest (the CLI exits 2).
    """
    if not args.redis:
        raise InvalidInputError("--redis", "give --redis URL or set HELIOS_REDIS_URL")
    from redis.exceptions import RedisError

    try:
        return await _dispatch(args, out)
    except RedisError as exc:
        # One line, as for every other failure; redis-py's messages name the host and port,
        # never the URL's password.
        print(f"helios-async: Redis: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


async def _dispatch(args: argparse.Namespace, out: TextIO) -> int:
    command = args.fleet_command
    if command == "worker":
        return await _worker(args)
    if command == "submit":
        return await _submit(args, out)
    if command == "collect":
        return await _collect(args, out)
    if command == "status":
        return await _status(args, out)
    if command == "forget":
        return await _forget(args, out)
    return await _unknown(args, out)


async def _worker(args: argparse.Namespace) -> int:
    import logging

    from ._worker import WorkerOptions, run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("docket").setLevel(logging.WARNING)
    await run_worker(
        WorkerOptions(
            redis_url=args.redis,
            fleet=args.fleet,
            concurrency=args.concurrency,
            redelivery_timeout=args.redelivery_timeout,
            creates_per_minute=args.creates_per_minute,
            max_in_flight=args.max_in_flight,
            base_url=args.base_url,
            region=args.region,
            poll_interval=args.poll_interval,
        )
    )
    return 0


async def _submit(args: argparse.Namespace, out: TextIO) -> int:
    from ._docket import Engine
    from ._names import FleetNames
    from ._submit import submit

    names = FleetNames(args.fleet).batch(args.batch)
    submissions = manifest_submissions(args.manifest, names.batch, deadline=args.deadline)
    async with Engine(args.redis, names.fleet) as engine:
        stats = await submit(engine, names, submissions, max_pending=args.max_pending)
    print(
        f"batch {names.batch}: {stats.queued} queued, {stats.already_queued} already queued, "
        f"{stats.skipped} already done, {stats.bad} bad row(s)",
        file=out,
    )
    return 0


def manifest_submissions(
    manifest_path: Path, batch: str, *, deadline: float | None = None
) -> Iterator[Submission]:
    """A manifest's rows as submissions, lazily. A row's key is its ``key`` cell where the
    manifest has that column, else ``LINE-ROWHASH`` (an edited row is a new job).

    Raises:
        InvalidInputError: the manifest cannot be read or its header is unusable.
    """
    from helios_async.cli._manifest import Manifest, row_to_job

    from ._payload import RowInfo, encode_job
    from ._records import job_record
    from ._submit import Submission

    manifest = Manifest(manifest_path)

    def rows() -> Iterator[Submission]:
        for row in manifest.rows():
            key = row.cells.get("key") or f"{row.line}-{row.digest}"
            info = RowInfo(line=row.line, row_hash=row.digest, cells=row.cells)
            try:
                job = row_to_job(row, manifest.folder)
                job = _with(job, key=key, deadline=deadline)
                payload = encode_job(batch, job, row=info)
            except InvalidInputError as exc:
                record = job_record(
                    row.cells.get("key") or None,
                    info,
                    run=None,
                    error=exc,
                    model_run_id=None,
                    journal=None,
                    seconds=0,
                )
                yield Submission(key=key, bad_record=record)
                continue
            yield Submission(key=key, payload=payload)

    return rows()


def _with(job: Any, **changes: Any) -> Any:
    import attrs

    if changes.get("deadline") is None:
        changes.pop("deadline", None)
    return attrs.evolve(job, **changes)


async def _collect(args: argparse.Namespace, out: TextIO) -> int:
    from ._collect import collect
    from ._docket import Engine
    from ._names import FleetNames

    names = FleetNames(args.fleet).batch(args.batch)
    async with Engine(args.redis, names.fleet) as engine, engine.redis() as redis:
        if not args.follow:  # --follow may start before the batch is submitted
            await _require_batch(redis, names)
        stats = await collect(redis, names, args.out, follow=args.follow)
    note = f" (cut a partial last line of {stats.repaired} bytes)" if stats.repaired else ""
    print(
        f"batch {names.batch}: {stats.written} result(s) written to {args.out}"
        f"{f', {stats.skipped} already there' if stats.skipped else ''}{note}",
        file=out,
    )
    return 0


async def _status(args: argparse.Namespace, out: TextIO) -> int:
    from helios_async.cli._redraw import redrawn_line

    from ._docket import Engine
    from ._names import FleetNames
    from ._state import BatchState

    names = FleetNames(args.fleet).batch(args.batch)
    async with Engine(args.redis, names.fleet) as engine, engine.redis() as redis:
        await _require_batch(redis, names)
        state = BatchState(redis, names)
        if not args.watch:
            print(format_counts(names.batch, await state.counts()), file=out)
            return 0
        with redrawn_line(out) as show:  # in place on a terminal, a line each elsewhere
            while True:
                counts = await state.counts()
                show(format_counts(names.batch, counts))
                if counts.complete:
                    return 0
                await asyncio.sleep(args.interval)


async def _require_batch(redis: Any, names: BatchNames) -> None:
    """Refuse a batch Redis knows nothing of (a typo, another ``--fleet``, or forgotten),
    instead of showing it as forever "submitting"."""
    if not await redis.hgetall(names.counts):
        raise InvalidInputError(
            "batch",
            f"no batch {names.batch!r} in fleet {names.fleet.fleet!r}: never submitted, or "
            "forgotten (check the name and --fleet)",
        )


def format_counts(batch: str, counts: BatchCounts) -> str:
    """One status line: counts per state, the rate, and whether submission has ended."""
    rate = f"{counts.rate:.1f} checks/s" if counts.rate is not None else "rate: -"
    if counts.complete:
        phase = "complete"
    elif counts.submit_done:
        phase = "submitted, running"
    else:
        phase = "submitting"
    return (
        f"{batch} [{time.strftime('%H:%M:%S')}]: {counts.submitted} submitted, "
        f"{counts.pending} pending, {counts.ok} ok, {counts.failed} failed, "
        f"{counts.unknown} unknown, {counts.bad} bad; {rate}; {phase}"
    )


async def _unknown(args: argparse.Namespace, out: TextIO) -> int:
    from ._docket import Engine
    from ._names import FleetNames
    from ._payload import decode_job
    from ._state import BatchState

    names = FleetNames(args.fleet).batch(args.batch)
    async with Engine(args.redis, names.fleet) as engine, engine.redis() as redis:
        await _require_batch(redis, names)
        unknown = await BatchState(redis, names).unknown()
    for key in sorted(unknown):
        job = decode_job(unknown[key])
        line = job.row.line if job.row is not None else None
        print(
            json.dumps(
                {
                    "key": key,
                    "line": line,
                    "user_label": job.job.user.user_label,
                    "recording": str(job.job.recording),
                }
            ),
            file=out,
        )
    print(
        f"{len(unknown)} create(s) with an unknown outcome in batch {names.batch}", file=sys.stderr
    )
    return 0


async def _forget(args: argparse.Namespace, out: TextIO) -> int:
    from helios_async._journal_redis import RedisJournal

    from ._docket import Engine
    from ._names import FleetNames
    from ._state import BatchState

    names = FleetNames(args.fleet).batch(args.batch)
    async with Engine(args.redis, names.fleet) as engine, engine.redis() as redis:
        state = BatchState(redis, names)
        counts = await state.counts()
        waiting = await redis.xlen(names.results)
        if (counts.pending or waiting) and not args.force:
            raise InvalidInputError(
                "batch",
                f"{names.batch} has {counts.pending} job(s) pending and {waiting} result(s) "
                "not collected: pass --force to delete it anyway",
            )
        await state.forget()
        journal = RedisJournal(redis, namespace=f"{names.fleet.fleet}:{names.batch}")
        await journal.drop()
    print(f"batch {names.batch}: forgotten", file=out)
    return 0
