"""Submitting a batch's jobs with bounded pending work, resumably.

At most ``max_pending`` jobs of the batch are queued or running at once: the submitter
waits for results before queueing more, so Redis holds a bounded amount of pending work
however many rows the batch has. Submitting the same batch again is safe at any point: a
key that already has its result is skipped, one that is queued or running is left alone
(the engine refuses a second task under the same key), and one whose task was lost is
queued again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

import attrs

from ._docket import Engine
from ._names import BatchNames
from ._state import FINAL_STATES, BatchState

__all__ = ["DEFAULT_MAX_PENDING", "Submission", "SubmitStats", "submit"]

DEFAULT_MAX_PENDING = 1000


@attrs.frozen(kw_only=True)
class Submission:
    """One job to submit: its JSON payload or, for a row refused before anything could be
    sent, its finished record."""

    key: str = attrs.field(repr=False)
    """The job's key, unique in the batch."""
    payload: str | None = attrs.field(default=None, repr=False)
    """The job as JSON text (see ``_payload``)."""
    bad_record: dict[str, Any] | None = attrs.field(default=None, repr=False)
    """The result record of a refused row."""


@attrs.define
class SubmitStats:
    """What a submission did."""

    queued: int = 0
    """Jobs queued by this submission."""
    already_queued: int = 0
    """Jobs already queued or running, left alone."""
    skipped: int = 0
    """Jobs whose key already has its result."""
    bad: int = 0
    """Manifest rows refused before anything was sent, recorded as results."""
    waited: int = 0
    """How often the submitter waited for pending work to drain below ``max_pending``."""


async def submit(
    engine: Engine,
    names: BatchNames,
    submissions: Iterable[Submission] | AsyncIterable[Submission],
    *,
    max_pending: int = DEFAULT_MAX_PENDING,
    done: bool = True,
    poll: float = 0.25,
) -> SubmitStats:
    """Queue every submission not yet done; with ``done``, mark the batch's submission
    complete at the end (``fleet collect --follow`` and ``outcomes()`` then stop once every
    result is in). ``poll`` (seconds) is how often a full queue is looked at again."""
    stats = SubmitStats()
    async with engine.redis() as redis:
        state = BatchState(redis, names)
        await state.mark_submit_done(False)
        pending = (await state.counts()).pending
        async for item in _each(submissions):
            known = await state.submit(item.key)
            if known in FINAL_STATES:
                stats.skipped += 1
                continue
            if item.bad_record is not None:
                await state.emit(item.key, "bad", item.bad_record)
                stats.bad += 1
                continue
            assert item.payload is not None
            while pending >= max_pending:
                pending = (await state.counts()).pending
                if pending >= max_pending:
                    stats.waited += 1
                    await asyncio.sleep(poll)
            if await engine.enqueue(names.task_key(item.key), item.payload):
                stats.queued += 1
                pending += 1
            else:
                stats.already_queued += 1
        if done:
            await state.mark_submit_done(True)
    return stats


async def _each(
    items: Iterable[Submission] | AsyncIterable[Submission],
) -> AsyncIterator[Submission]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
            await asyncio.sleep(0)
