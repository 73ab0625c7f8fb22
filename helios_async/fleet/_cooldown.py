"""The fleet-wide cool-down: a 429 with ``Retry-After`` on any worker pauses every worker's
creates, across processes (docs/helios.md#retries-and-idempotency).

The cool-down is one Redis key holding the Unix time (seconds) until which no create may be
sent, only ever moved later, and a broadcast of each change on a channel. A worker reads the
key at start-up, listens to the channel, and reads the key again at the gate before each
create, so a worker that missed a broadcast (it was reconnecting) still honours the pause.
A request already on its way when the 429 arrived cannot be called back: that one create may
reach the API during the pause, and is answered like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ._names import FleetNames

__all__ = ["FleetCooldown"]

logger = logging.getLogger("helios_async.fleet")

# KEYS: cool-down key, channel. ARGV: until (Unix seconds), key TTL (ms). -> 1 if moved later.
_EXTEND = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('PUBLISH', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

RedisFactory = Callable[[], contextlib.AbstractAsyncContextManager[Any]]
PubSubFactory = Callable[[], contextlib.AbstractAsyncContextManager[Any]]


class FleetCooldown:
    """One worker's view of the fleet's cool-down.

    ``note(seconds)`` (sync, safe from a client hook) pauses this worker at once and
    publishes the pause to the fleet; ``await wait()`` returns once no cool-down is in
    force, fleet-wide. ``clock`` is the Unix time in seconds and ``sleep`` an async sleep,
    both injectable for tests.
    """

    def __init__(
        self,
        redis: RedisFactory,
        names: FleetNames,
        *,
        pubsub: PubSubFactory | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._pubsub = pubsub
        self._names = names
        self._clock = clock
        self._sleep = sleep
        self.until = 0.0
        """Unix time (seconds) until which this worker knows creates must wait."""
        self._tasks: set[asyncio.Task[Any]] = set()

    async def read(self) -> float:
        """Read the fleet's cool-down from Redis into :attr:`until`; returns it."""
        async with self._redis() as redis:
            raw = await redis.get(self._names.cooldown)
        self._learn(raw)
        return self.until

    def _learn(self, raw: object) -> None:
        if isinstance(raw, bytes):
            raw = raw.decode()
        try:
            value = float(raw) if raw is not None else 0.0  # type: ignore[arg-type]
        except ValueError:
            return
        if math.isfinite(value):
            self.until = max(self.until, value)

    def note(self, seconds: float) -> None:
        """A 429 asked for ``seconds`` of quiet: pause here now, and tell the fleet."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        until = self._clock() + seconds
        self.until = max(self.until, until)
        task = asyncio.get_running_loop().create_task(self.publish(until))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Wait for the publishes :meth:`note` started."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def publish(self, until: float) -> bool:
        """Move the fleet's cool-down to ``until`` (Unix seconds) unless it is later already,
        and broadcast it; returns whether it moved."""
        ttl_ms = max(1000, math.ceil((until - self._clock()) * 1000) + 60_000)
        try:
            async with self._redis() as redis:
                moved = await redis.eval(
                    _EXTEND,
                    2,
                    self._names.cooldown,
                    self._names.cooldown_channel,
                    f"{until:.3f}",
                    str(ttl_ms),
                )
        except Exception:  # the local pause holds; the others learn from the next 429
            logger.warning("could not publish the fleet cool-down", exc_info=True)
            return False
        if moved:
            logger.info("fleet cool-down: creates paused for %.1f s", until - self._clock())
        return bool(moved)

    def pending(self) -> bool:
        """Whether this worker knows of a cool-down in force (no Redis read)."""
        return self.until > self._clock()

    async def wait(self) -> None:
        """Return once no cool-down is in force, here or anywhere in the fleet."""
        while True:
            await self.read()
            delay = self.until - self._clock()
            if delay <= 0:
                return
            await self._sleep(delay)

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[FleetCooldown]:
        """Read the cool-down and follow its broadcasts while inside; publishes still in
        flight on exit are awaited."""
        await self.read()
        listener = (
            asyncio.get_running_loop().create_task(self._listen(), name="helios-fleet-cooldown")
            if self._pubsub is not None
            else None
        )
        try:
            yield self
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            await self.settled()

    async def _listen(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                async with self._pubsub() as pubsub:
                    await pubsub.subscribe(self._names.cooldown_channel)
                    await self.read()  # what was published while not subscribed
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is not None and message.get("type") == "message":
                            self._learn(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("fleet cool-down broadcast lost; listening again", exc_info=True)
                await self._sleep(1.0)
