"""A batch's bookkeeping in Redis: which jobs were submitted, their results, the counters.

One hash, ``jobs``, maps each job key to its state: ``queued`` once submitted, then ``ok``,
``failed``, ``unknown`` or ``bad`` once its result is in the ``results`` stream. Each change
is one Lua script, so a result is appended at most once per key however often its job is
delivered, and the counters always agree with the stream. The scripts use only commands
that Docket's in-memory backend (``memory://``) also knows, so the unit tests run the same
code as production.

Memory: ``jobs`` holds one short field per row of the batch (the key and a state word);
the pending work itself, the part that grows with the submission rate, is bounded by the
submitter (see ``_submit``). Delete a finished batch with :meth:`BatchState.forget`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import attrs

from ._names import BatchNames

__all__ = ["FINAL_STATES", "BatchCounts", "BatchState"]

FINAL_STATES = frozenset({"ok", "failed", "unknown", "bad"})

# KEYS: jobs, counts. ARGV: key. -> "new" (now queued), "queued" (already), or the final state.
_SUBMIT = """
local state = redis.call('HGET', KEYS[1], ARGV[1])
if state then return state end
redis.call('HSET', KEYS[1], ARGV[1], 'queued')
redis.call('HINCRBY', KEYS[2], 'submitted', 1)
return 'new'
"""

# KEYS: jobs, counts, results, unknown. ARGV: key, state, record, now, unknown-entry.
# -> 1 if appended, 0 if the key already had its result.
_EMIT = """
local state = redis.call('HGET', KEYS[1], ARGV[1])
if state and state ~= 'queued' then return 0 end
if not state then redis.call('HINCRBY', KEYS[2], 'submitted', 1) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[3], '*', 'record', ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if redis.call('HEXISTS', KEYS[2], 'first_at') == 0 then
  redis.call('HSET', KEYS[2], 'first_at', ARGV[4])
end
redis.call('HSET', KEYS[2], 'last_at', ARGV[4])
if ARGV[2] == 'unknown' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[5]) end
return 1
"""


@attrs.frozen(kw_only=True)
class BatchCounts:
    """A batch's counters, as Redis holds them at one moment."""

    submitted: int = 0
    """Jobs submitted (each key once, however often it was submitted)."""
    ok: int = 0
    """Results that ended ``COMPLETE_OK``."""
    failed: int = 0
    """Results that carry an error (the run failed, or the check could not be done)."""
    unknown: int = 0
    """Results of creates whose outcome is unknown: see ``Fleet.unknown()``."""
    bad: int = 0
    """Manifest rows refused before anything was sent."""
    submit_done: bool = False
    """Whether the submitter said it has submitted everything."""
    first_at: float | None = None
    """Unix time (seconds) of the first result, or None."""
    last_at: float | None = None
    """Unix time (seconds) of the latest result, or None."""

    @property
    def finished(self) -> int:
        """Jobs with a result."""
        return self.ok + self.failed + self.unknown + self.bad

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet finished (queued or running)."""
        return max(0, self.submitted - self.finished)

    @property
    def complete(self) -> bool:
        """Submission has ended and every job submitted has its result."""
        return self.submit_done and self.pending == 0

    @property
    def rate(self) -> float | None:
        """Results per second between the first and the last, or None before two seconds."""
        if self.first_at is None or self.last_at is None or self.last_at - self.first_at < 2:
            return None
        return (self.finished - 1) / (self.last_at - self.first_at)

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> BatchCounts:
        fields = {_text(name): _text(value) for name, value in raw.items()}

        def number(name: str) -> int:
            return int(fields.get(name, "0") or 0)

        def moment(name: str) -> float | None:
            value = fields.get(name)
            return float(value) if value else None

        return cls(
            submitted=number("submitted"),
            ok=number("ok"),
            failed=number("failed"),
            unknown=number("unknown"),
            bad=number("bad"),
            submit_done=fields.get("submit_done") == "1",
            first_at=moment("first_at"),
            last_at=moment("last_at"),
        )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class BatchState:
    """The bookkeeping of one batch, on a Redis client (redis-py's asyncio client or
    Docket's in-memory one)."""

    def __init__(self, redis: Any, names: BatchNames) -> None:
        self._redis = redis
        self.names = names

    async def submit(self, key: str) -> str:
        """Record ``key`` as submitted: ``"new"``, ``"queued"`` (known, no result yet) or its
        final state (``"ok"``, ...: skip it)."""
        n = self.names
        return _text(await self._redis.eval(_SUBMIT, 2, n.jobs, n.counts, key))

    async def emit(
        self, key: str, state: str, record: Mapping[str, Any], *, job: str | None = None
    ) -> bool:
        """Append ``record`` to the results and set the key's final ``state``, unless the key
        already has its result; returns whether it was appended. ``job`` (the payload) is
        kept for ``fleet unknown`` when ``state`` is ``"unknown"``."""
        assert state in FINAL_STATES
        n = self.names
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        appended = await self._redis.eval(
            _EMIT,
            4,
            n.jobs,
            n.counts,
            n.results,
            n.unknown,
            key,
            state,
            text,
            f"{time.time():.3f}",
            job or "",
        )
        return bool(appended)

    async def state_of(self, key: str) -> str | None:
        """The key's state (``"queued"``, a final state) or None if never submitted."""
        value = await self._redis.hget(self.names.jobs, key)
        return _text(value) if value is not None else None

    async def counts(self) -> BatchCounts:
        return BatchCounts.from_hash(await self._redis.hgetall(self.names.counts))

    async def mark_submit_done(self, done: bool = True) -> None:
        await self._redis.hset(self.names.counts, "submit_done", "1" if done else "0")

    async def unknown(self) -> dict[str, str]:
        """Job key -> payload of every job whose create's outcome is unknown."""
        raw = await self._redis.hgetall(self.names.unknown)
        return {_text(key): _text(value) for key, value in raw.items()}

    async def forget(self) -> None:
        """Delete the batch's bookkeeping and results (not its journal)."""
        n = self.names
        await self._redis.delete(n.jobs, n.counts, n.results, n.unknown, n.collector_lock)
