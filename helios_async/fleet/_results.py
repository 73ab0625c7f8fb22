"""Reading a batch's results stream: each record once, acknowledged only when handled.

The stream ``batch:{batch}:results`` is read through the consumer group ``collectors`` as
the one consumer ``collector``. Entries are read, handed over (written to a file and
synced, or yielded to Python code), and only then acknowledged and deleted, so Redis holds
only the results nobody has taken yet. After a crash the consumer's unacknowledged
entries are read again first, in order: the collector uses the output file's last line to
skip those it had already written (see ``_collect``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import attrs
from redis.exceptions import ResponseError

from ._names import BatchNames

__all__ = ["GROUP", "Entry", "ResultReader"]

GROUP = "collectors"
CONSUMER = "collector"
LOCK_MS = 5000  # how long a collector's claim on a batch outlives its last renewal

# KEYS: lock. ARGV: token, ms. -> 1 if this token holds the lock now.
_LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# KEYS: lock. ARGV: token. Releases the lock if this token holds it.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


@attrs.frozen
class Entry:
    """One result: its stream id and its record."""

    id: str
    record: dict[str, Any]


class ResultReader:
    """The batch's results, read by the one collector (Redis client and batch names)."""

    def __init__(self, redis: Any, names: BatchNames) -> None:
        self._redis = redis
        self.names = names
        self._token = secrets.token_hex(8)

    async def lock(self) -> bool:
        """Claim (or renew the claim on) the batch's results; False if another reader has it."""
        return bool(
            await self._redis.eval(_LOCK, 1, self.names.collector_lock, self._token, str(LOCK_MS))
        )

    async def unlock(self) -> None:
        await self._redis.eval(_UNLOCK, 1, self.names.collector_lock, self._token)

    async def _group(self) -> None:
        try:
            await self._redis.xgroup_create(self.names.results, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def unacknowledged(self, count: int = 500) -> list[Entry]:
        """Entries read before and not yet acknowledged (a crashed reader's), oldest first."""
        await self._group()
        entries: list[Entry] = []
        seen: set[str] = set()
        after = "0"
        while True:
            fresh = [e for e in await self._read(after, count, block=None) if e.id not in seen]
            if not fresh:  # (the in-memory backend answers from the start every time)
                return entries
            entries.extend(fresh)
            seen.update(entry.id for entry in fresh)
            after = fresh[-1].id

    async def next(self, count: int, *, block: float) -> list[Entry]:
        """Up to ``count`` entries nobody has read yet, waiting up to ``block`` seconds."""
        await self._group()
        return await self._read(">", count, block=max(1, int(block * 1000)))

    async def _read(self, after: str, count: int, *, block: int | None) -> list[Entry]:
        answer = await self._redis.xreadgroup(
            GROUP, CONSUMER, {self.names.results: after}, count=count, block=block
        )
        entries: list[Entry] = []
        for _stream, messages in answer or []:
            for message_id, fields in messages:
                ident = message_id.decode() if isinstance(message_id, bytes) else message_id
                raw = fields.get(b"record", fields.get("record")) if fields else None
                if raw is None:
                    continue  # deleted meanwhile
                entries.append(Entry(ident, json.loads(raw)))
        return entries

    async def acknowledge(self, entries: list[Entry]) -> None:
        """Mark ``entries`` handled and delete them from the stream."""
        if not entries:
            return
        ids = [entry.id for entry in entries]
        await self._redis.xack(self.names.results, GROUP, *ids)
        await self._redis.xdel(self.names.results, *ids)
