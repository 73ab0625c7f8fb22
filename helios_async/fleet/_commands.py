"""``helios-async fleet worker|submit|collect|status|unknown``: the fleet's command line.

Every command takes ``--redis URL`` (default: the ``HELIOS_REDIS_URL`` environment
variable) and ``--fleet NAME`` (default: ``HELIOS_FLEET``, else ``default``). The parser is
built without importing the engine; each command imports it when it runs, and without the
``fleet`` extra says how to install it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from helios_async import InvalidInputError

if TYPE_CHECKING:
    from ._state import BatchCounts
    from ._submit import Submission

__all__ = ["ENV_FLEET", "ENV_REDIS_URL", "add_fleet_parser", "fleet_command"]

ENV_REDIS_URL = "HELIOS_REDIS_URL"
ENV_FLEET = "HELIOS_FLEET"
NEEDS_FLEET = "helios-async: fleet commands need the fleet extra: pip install 'helios-async[fleet]'"


def add_fleet_parser(commands: Any) -> None:
    """Register ``fleet`` and its subcommands on the CLI's subparsers."""
    fleet = commands.add_parser(
        "fleet",
        help="run wellness checks on a fleet of workers (Docket on Redis)",
        description="Run wellness checks on a fleet of worker processes sharing one Redis.",
    )
    sub = fleet.add_subparsers(dest="fleet_command", required=True, metavar="SUBCOMMAND")

    worker = sub.add_parser("worker", help="run a worker until SIGTERM (which drains)")
    _common(worker)
    worker.add_argument("--concurrency", type=_positive, default=10, help="checks at once")
    worker.add_argument(
        "--redelivery-timeout",
        type=_seconds,
        default=30.0,
        help="seconds before a dead worker's jobs go to another worker (default 30)",
    )
    worker.add_argument(
        "--creates-per-minute", type=_positive, help="fleet-wide cap (give every worker the same)"
    )
    worker.add_argument(
        "--max-in-flight", type=_positive, help="fleet-wide checks at once (same on every worker)"
    )
    worker.add_argument("--poll-interval", type=_seconds, help="seconds between polls of a run")
    worker.add_argument("--base-url", help="API root (default: THYMIA_BASE_URL or the region's)")
    worker.add_argument("--region", choices=["default", "ca", "us"], help="API region")

    submit = sub.add_parser("submit", help="queue a CSV manifest's rows as a batch (resumable)")
    submit.add_argument("manifest", type=Path, help="the CSV manifest (the columns of batch)")
    submit.add_argument("--batch", required=True, help="the batch's name")
    submit.add_argument(
        "--max-pending", type=_positive, default=1000, help="jobs queued or running at once"
    )
    submit.add_argument("--deadline", type=_seconds, help="seconds allowed for each check")
    _common(submit)

    collect = sub.add_parser("collect", help="write a batch's results as JSON Lines")
    collect.add_argument("batch", help="the batch's name")
    collect.add_argument("--out", required=True, type=Path, help="the JSON Lines file (appended)")
    collect.add_argument(
        "--follow", action="store_true", help="keep collecting until the batch is complete"
    )
    _common(collect)

    status = sub.add_parser("status", help="a batch's counts per state and its rate")
    status.add_argument("batch", help="the batch's name")
    status.add_argument("--watch", action="store_true", help="redraw until the batch completes")
    status.add_argument("--interval", type=_seconds, default=2.0, help="seconds between redraws")
    _common(status)

    unknown = sub.add_parser("unknown", help="list the creates whose outcome is unknown")
    unknown.add_argument("batch", help="the batch's name")
    _common(unknown)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis",
        default=os.environ.get(ENV_REDIS_URL),
        help=f"the Redis URL (default: {ENV_REDIS_URL}); redis://, rediss:// or memory://",
    )
    parser.add_argument(
        "--fleet",
        default=os.environ.get(ENV_FLEET, "default"),
        help=f"the fleet's name (default: {ENV_FLEET}, else 'default')",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number above 0: {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds above 0: {text!r}")
    return value


async def fleet_command(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``helios-async fleet ...``; returns the exit status (0 done, 1 failed, 2 refused).

    Raises:
        InvalidInputError: no Redis URL, a bad name or manifest (the CLI exits 2).
    """
    if not args.redis:
        raise InvalidInputError("--redis", f"give --redis URL or set {ENV_REDIS_URL}")
    try:
        import docket  # noqa: F401
    except ImportError:
        print(NEEDS_FLEET, file=sys.stderr)
        return 1
    command = args.fleet_command
    if command == "worker":
        return await _worker(args)
    if command == "submit":
        return await _submit(args, out)
    if command == "collect":
        return await _collect(args, out)
    if command == "status":
        return await _status(args, out)
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
    from helios_async._batch_manifest import Manifest, row_to_job

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
                record = job_record(key, info, run=None, error=exc, model_run_id=None, seconds=0)
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
        stats = await collect(redis, names, args.out, follow=args.follow)
    note = f" (cut a partial last line of {stats.repaired} bytes)" if stats.repaired else ""
    print(
        f"batch {names.batch}: {stats.written} result(s) written to {args.out}"
        f"{f', {stats.skipped} already there' if stats.skipped else ''}{note}",
        file=out,
    )
    return 0


async def _status(args: argparse.Namespace, out: TextIO) -> int:
    from ._docket import Engine
    from ._names import FleetNames
    from ._state import BatchState

    names = FleetNames(args.fleet).batch(args.batch)
    async with Engine(args.redis, names.fleet) as engine, engine.redis() as redis:
        state = BatchState(redis, names)
        while True:
            counts = await state.counts()
            print(format_counts(names.batch, counts), file=out, flush=True)
            if not args.watch or counts.complete:
                return 0
            await asyncio.sleep(args.interval)


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
