"""``fleet collect``: a batch's results into a JSON Lines file, without gaps or repeats.

Each record is written as one whole line; a group of lines is synced to disk and only then
acknowledged in Redis (and deleted there). A collector killed part way leaves the file with
whole lines (a partial last line is cut off on the next start) and Redis with the entries
it had read but not acknowledged; the next collector reads those again, skips the ones up
to the file's last line (records are written in stream order, and each job has one record,
told apart by key, line and row hash), and carries on. Without ``follow`` it stops once
nothing new arrives for ``idle`` seconds; with it, once the batch is complete.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from ._names import BatchNames
from ._records import identity
from ._results import Entry, ResultReader
from ._state import BatchState

__all__ = ["CollectStats", "collect"]

READ_COUNT = 500


@attrs.define
class CollectStats:
    """What a collect did: lines ``written``, entries ``skipped`` as already in the file,
    bytes of a partial last line ``repaired``."""

    written: int = 0
    skipped: int = 0
    repaired: int = 0


OUTPUT_MODE = 0o600
"""A new output's mode: the owner only, as ``batch``'s (the lines hold labels, dates of birth
and scores). An existing file keeps the mode its owner gave it."""


def _open_output(out: Path) -> io.FileIO:
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, OUTPUT_MODE)
    return os.fdopen(fd, "ab", buffering=0)


async def collect(
    redis: Any,
    names: BatchNames,
    out: Path,
    *,
    follow: bool = False,
    idle: float = 0.5,
    on_progress: Callable[[CollectStats], None] | None = None,
) -> CollectStats:
    """Append the batch's results to ``out``; returns what was done.

    Raises:
        RuntimeError: another collector holds the batch (for longer than its claim lasts).
        OSError: the file cannot be read, repaired or written.
    """
    reader = ResultReader(redis, names)
    await _claim(reader)
    stats = CollectStats()
    try:
        stats.repaired, last = _repair(out)
        with _open_output(out) as stream:
            leftovers = await reader.unacknowledged()
            identities = [identity(entry.record) for entry in leftovers]
            if last is not None and last in identities:
                done = identities.index(last) + 1
                await reader.acknowledge(leftovers[:done])
                stats.skipped, leftovers = done, leftovers[done:]
            await _write(stream, reader, leftovers, stats)
            state = BatchState(redis, names)
            while True:
                if not await reader.lock():
                    raise RuntimeError(f"another collector took batch {names.batch}")
                # complete before the read, and the read empty: every result was taken
                complete = follow and (await state.counts()).complete
                entries = await reader.next(READ_COUNT, block=idle)
                await _write(stream, reader, entries, stats)
                if entries and on_progress is not None:
                    on_progress(stats)
                if not entries and (complete or not follow):
                    return stats
    finally:
        await reader.unlock()


async def _claim(reader: ResultReader) -> None:
    for _ in range(40):  # a crashed collector's claim lapses within LOCK_MS
        if await reader.lock():
            return
        await asyncio.sleep(0.25)
    raise RuntimeError(f"another collector is collecting batch {reader.names.batch}")


async def _write(stream: Any, reader: ResultReader, entries: list[Entry], stats: Any) -> None:
    if not entries:
        return
    data = b"".join(
        json.dumps(entry.record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        for entry in entries
    )
    view = memoryview(data)
    while view:
        sent = stream.write(view)
        view = view[sent or 0 :]
    os.fsync(stream.fileno())
    await reader.acknowledge(entries)
    stats.written += len(entries)


def _repair(path: Path) -> tuple[int, tuple[object, object, object] | None]:
    """Cut a partial last line off ``path``; returns the bytes cut and the identity of the
    last complete line (None if there is none)."""
    if not path.exists():
        return 0, None
    with path.open("r+b") as stream:
        size = stream.seek(0, os.SEEK_END)
        if size == 0:
            return 0, None
        tail_start = max(0, size - (1 << 20))
        stream.seek(tail_start)
        tail = stream.read()
        complete = tail.rfind(b"\n") + 1  # just past the last newline in the tail
        cut = len(tail) - complete
        if cut:
            stream.truncate(tail_start + complete)
        lines = tail[:complete].splitlines()
    if not lines:
        return cut, None
    try:
        return cut, identity(json.loads(lines[-1]))
    except (ValueError, AttributeError):
        return cut, None
