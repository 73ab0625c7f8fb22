"""``RedisJournal``: the run journal in Redis, shared by a fleet of workers (issue 11).

Public as ``helios_async.fleet.RedisJournal`` (the ``fleet`` extra, which brings ``redis``);
``import helios_async`` never imports this module. Every write is one Lua script, so it is
atomic: it checks that the writer's owner token is still the key's owner and that the state
machine allows the move (``helios_async._journal``), then writes the entry and keeps the
indexes in step. A worker presumed dead whose job was redelivered (and claimed again) can
no longer write.

Key layout, for a journal ``namespace`` N (all keys share the hash tag ``{N}``, so a whole
journal lives on one Redis Cluster slot and each script touches one slot)::

    helios:journal:{N}:job:<key>   hash: owner (token), state, entry (JournalEntry JSON)
    helios:journal:{N}:counts      hash: state -> number of entries in that state
    helios:journal:{N}:creating    set of keys in ``creating`` (creates in flight, or lost)
    helios:journal:{N}:unknown     set of keys in ``unknown`` (for the user to decide)

Entries hold presigned upload URLs and results: the Redis must be trusted (ACL, TLS).
"""

from __future__ import annotations

import json
import secrets
from types import TracebackType
from typing import Any, Self

import redis.asyncio as aioredis

from ._errors import InvalidInputError, JournalConflictError
from ._journal import JobState, JournalEntry, check_key

__all__ = ["RedisJournal"]

_TRANSITIONS = """
local allowed = {
  [''] = {creating = true},
  creating = {created = true, unknown = true, done = true},
  created = {uploaded = true, done = true, creating = true},
  uploaded = {done = true},
}
"""

# KEYS: job, counts, creating, unknown. ARGV: token, new state, entry JSON, key.
# Returns 1 written, 0 not the owner, -1 a move the state machine refuses.
_PUT = (
    _TRANSITIONS
    + """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
local old = redis.call('HGET', KEYS[1], 'state') or ''
local next_states = allowed[old]
if not next_states or not next_states[ARGV[2]] then return -1 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'entry', ARGV[3])
if old ~= '' then redis.call('HINCRBY', KEYS[2], old, -1) end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
if ARGV[2] == 'creating' then
  redis.call('SADD', KEYS[3], ARGV[4])
else
  redis.call('SREM', KEYS[3], ARGV[4])
end
if ARGV[2] == 'unknown' then redis.call('SADD', KEYS[4], ARGV[4]) end
return 1
"""
)

# KEYS: job, counts, creating. ARGV: token, key. Only a ``creating`` entry is released.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
local old = redis.call('HGET', KEYS[1], 'state')
if old ~= 'creating' then return -1 end
redis.call('HDEL', KEYS[1], 'state', 'entry')
redis.call('HINCRBY', KEYS[2], old, -1)
redis.call('SREM', KEYS[3], ARGV[2])
return 1
"""

# KEYS: job, counts, creating, unknown. ARGV: key. Removes the entry and voids its owner.
_FORGET = """
local old = redis.call('HGET', KEYS[1], 'state')
redis.call('DEL', KEYS[1])
if old then redis.call('HINCRBY', KEYS[2], old, -1) end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return 1
"""

# KEYS: job. ARGV: token. Makes the token the owner; returns the entry JSON or false.
_CLAIM = """
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
return redis.call('HGET', KEYS[1], 'entry')
"""


class RedisJournal:
    """The run journal in Redis (key layout in the module docstring).

    ``RedisJournal(redis, namespace="nightly")`` uses your ``redis.asyncio.Redis`` client
    (left open); :meth:`from_url` makes one it owns and closes in :meth:`aclose`. The
    namespace (1 to 200 characters, no braces) separates journals, e.g. one per batch.

    Raises:
        InvalidInputError: the namespace is empty, too long or has a brace.
    """

    def __init__(self, redis: aioredis.Redis, *, namespace: str, owns_client: bool = False):
        if not isinstance(namespace, str) or not 0 < len(namespace) <= 200:
            raise InvalidInputError("namespace", "must be a string of 1 to 200 characters")
        if "{" in namespace or "}" in namespace:
            raise InvalidInputError("namespace", "must not contain { or }")
        self.namespace = namespace
        self.prefix = f"helios:journal:{{{namespace}}}:"
        self._redis = redis
        self._owns_client = owns_client
        self._put = redis.register_script(_PUT)
        self._release = redis.register_script(_RELEASE)
        self._forget = redis.register_script(_FORGET)
        self._claim = redis.register_script(_CLAIM)

    @classmethod
    def from_url(cls, url: str, *, namespace: str) -> Self:
        """A journal on a client of its own for ``url`` (``redis://host:port/db``,
        ``rediss://`` for TLS), closed by :meth:`aclose`."""
        return cls(aioredis.Redis.from_url(url), namespace=namespace, owns_client=True)

    # -- keys ---------------------------------------------------------------------------

    def job_key(self, key: str) -> str:
        """The Redis key of a job's hash."""
        return f"{self.prefix}job:{key}"

    @property
    def counts_key(self) -> str:
        """The Redis key of the per-state counts hash."""
        return f"{self.prefix}counts"

    @property
    def creating_key(self) -> str:
        """The Redis key of the set of keys in ``creating``."""
        return f"{self.prefix}creating"

    @property
    def unknown_key(self) -> str:
        """The Redis key of the set of keys in ``unknown``."""
        return f"{self.prefix}unknown"

    # -- the Journal protocol -----------------------------------------------------------

    async def claim(self, key: str) -> tuple[str, JournalEntry | None]:
        """Become ``key``'s owner (any earlier owner's writes are refused from now on): a
        fresh token, and the key's entry (None if it has none)."""
        token = secrets.token_hex(16)
        raw = await self._claim(keys=[self.job_key(check_key(key))], args=[token])
        return token, _entry(raw)

    async def put(self, entry: JournalEntry, *, token: str) -> None:
        """Store ``entry`` atomically, if ``token`` still owns its key and the state machine
        allows the move.

        Raises:
            JournalConflictError: the key was claimed again since ``token`` was given.
            ValueError: the move is not allowed from the stored state (a bug).
        """
        keys = [self.job_key(entry.key), self.counts_key, self.creating_key, self.unknown_key]
        done = await self._put(keys=keys, args=[token, entry.state.value, entry.dumps(), entry.key])
        _judge(done, entry.key, f"to {entry.state}")

    async def release(self, key: str, *, token: str) -> None:
        """Remove ``key``'s ``creating`` entry (its create provably made nothing), keeping
        the claim, if ``token`` owns it.

        Raises:
            JournalConflictError: the key was claimed again since ``token`` was given.
            ValueError: the entry is not ``creating`` (a bug).
        """
        keys = [self.job_key(key), self.counts_key, self.creating_key]
        _judge(await self._release(keys=keys, args=[token, key]), key, "back to none")

    async def get(self, key: str) -> JournalEntry | None:
        """``key``'s entry, or None; claims nothing."""
        return _entry(await self._redis.hget(self.job_key(check_key(key)), "entry"))

    # -- for the fleet and for people ---------------------------------------------------

    async def forget(self, key: str) -> None:
        """Remove ``key``'s entry whatever its state, voiding its owner: your decision about
        an ``unknown`` create (you checked with support, or accept a second run)."""
        keys = [self.job_key(key), self.counts_key, self.creating_key, self.unknown_key]
        await self._forget(keys=keys, args=[key])

    async def counts(self) -> dict[JobState, int]:
        """How many entries are in each state (states with none are left out)."""
        raw = await self._redis.hgetall(self.counts_key)
        counts = {JobState(_text(name)): int(value) for name, value in raw.items()}
        return {state: count for state, count in counts.items() if count > 0}

    async def keys_in(self, state: JobState) -> list[str]:
        """The keys in ``creating`` or ``unknown`` (the two states that are indexed).

        Raises:
            InvalidInputError: another state was asked for.
        """
        if state == JobState.CREATING:
            index = self.creating_key
        elif state == JobState.UNKNOWN:
            index = self.unknown_key
        else:
            raise InvalidInputError("state", "only creating and unknown keys are indexed")
        return sorted(_text(member) for member in await self._redis.smembers(index))

    async def unknown(self) -> list[JournalEntry]:
        """The ``unknown`` entries: creates whose outcome is unknown, for the user to decide."""
        entries = [await self.get(key) for key in await self.keys_in(JobState.UNKNOWN)]
        return [entry for entry in entries if entry is not None]

    async def drop(self) -> int:
        """Delete every key of this journal (after a batch is collected); returns how many."""
        deleted = 0
        async for name in self._redis.scan_iter(match=f"{_glob_escape(self.prefix)}*", count=500):
            deleted += await self._redis.delete(name)
        return deleted

    # -- lifecycle ----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the client if this journal made it (:meth:`from_url`); idempotent."""
        if self._owns_client:
            await self._redis.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<RedisJournal namespace={self.namespace!r}>"


def _entry(raw: Any) -> JournalEntry | None:
    if raw is None or raw is False:
        return None
    return JournalEntry.from_json(json.loads(raw))


def _judge(result: Any, key: str, move: str) -> None:
    if result == 0:
        raise JournalConflictError(key)
    if result != 1:
        raise ValueError(f"journal entry {key!r} cannot go {move} from its stored state")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _glob_escape(text: str) -> str:
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
