"""Everything that knows Docket (``pydocket``, pinned to 0.27 in the ``fleet`` extra).

The rest of the fleet sees an :class:`Engine`: enqueue a job's JSON payload under a key,
count the backlog, run a worker, and borrow a Redis client (the real one, or Docket's
in-memory one for ``memory://`` URLs). Another engine (Temporal, say) would replace this
module alone.

What the fleet relies on, as Docket 0.27 behaves:

- ``docket.add(task, key=...)`` is a no-op while a task with that key is queued or
  running, so a resubmitted job is not queued twice; after it ended, the key is free again.
- A worker renews the lease of every message it holds (a quarter of the redelivery
  timeout); a worker that dies stops renewing, and another worker claims its messages
  once they have been idle for the redelivery timeout. Delivery is at least once: the run
  journal, not the engine, keeps a run from being billed twice.
- Cancelling a running ``Worker.run_forever()`` stops taking messages and waits for the
  tasks in flight (a drain); the worker's messages are acknowledged as each task ends.
- Task arguments are pickled (cloudpickle) into Redis and unpickled by workers: whoever can
  write to that Redis can run code on every worker. Use a Redis that only the fleet can
  reach (ACL, TLS: ``rediss://``). The fleet itself passes only a JSON string.
- ``RateLimit`` and ``ConcurrencyLimit`` given to a ``Worker`` as worker dependencies hold
  fleet-wide when every worker is given the same numbers (the counts live in Redis).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import os
import socket
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from docket import ConcurrencyLimit, Docket, RateLimit, Retry, Worker
from docket.execution import Disposition

from ._names import FleetNames

__all__ = ["CHECK_TASK", "Engine"]

CHECK_TASK = "helios_fleet_check"
EXECUTION_TTL = dt.timedelta(seconds=60)  # how long Docket keeps a finished task's record
RETRY_ATTEMPTS = 5
RETRY_DELAY = dt.timedelta(seconds=2)

Handler = Callable[[str], Awaitable[None]]
_handler: contextvars.ContextVar[Handler] = contextvars.ContextVar("helios_fleet_handler")


async def helios_fleet_check(
    payload: str,
    retry: Retry = Retry(attempts=RETRY_ATTEMPTS, delay=RETRY_DELAY),  # noqa: B008
) -> None:
    """The one Docket task: hand the JSON payload to this worker's handler. A handler that
    raises (Redis out of reach, say) is tried again ``RETRY_ATTEMPTS`` times in all; the
    journal makes that safe."""
    await _handler.get()(payload)


class Engine:
    """The fleet's connection to Docket on ``url`` (``redis://``, ``rediss://`` or
    ``memory://``)."""

    def __init__(self, url: str, names: FleetNames) -> None:
        self.names = names
        self._docket = Docket(name=names.docket, url=url, execution_ttl=EXECUTION_TTL)
        self._docket.register(helios_fleet_check)
        self._open = False

    async def __aenter__(self) -> Self:
        await self._docket.__aenter__()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        await self._docket.__aexit__(exc_type, exc, tb)

    def redis(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A Redis client (async context manager) on the fleet's Redis."""
        return self._docket.redis()

    def pubsub(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A pub/sub connection (async context manager) on the fleet's Redis."""
        return self._docket._pubsub()  # pyright: ignore[reportPrivateUsage]

    async def enqueue(self, task_key: str, payload: str) -> bool:
        """Queue ``payload`` under ``task_key``; False if that key is queued or running."""
        execution = await self._docket.add(helios_fleet_check, key=task_key)(payload)
        return execution.disposition == Disposition.SCHEDULED

    async def backlog(self) -> int:
        """Jobs in the engine not yet finished (waiting, scheduled or running), fleet-wide."""
        async with self._docket.redis() as redis:
            streamed = await redis.xlen(self._docket.stream_key)
            scheduled = await redis.zcard(self._docket.queue_key)
        return int(streamed) + int(scheduled)

    async def work(
        self,
        handler: Handler,
        *,
        concurrency: int,
        redelivery_timeout: float,
        creates_per_minute: int | None = None,
        max_in_flight: int | None = None,
        until_finished: bool = False,
    ) -> None:
        """Run a worker: ``handler(payload)`` for each job, ``concurrency`` at a time, until
        cancelled (a drain: the jobs in flight finish) or, with ``until_finished``, until no
        job is left. ``creates_per_minute`` and ``max_in_flight`` are fleet-wide limits on
        jobs started per minute and jobs running at once (every worker must get the same).
        ``redelivery_timeout`` is in seconds."""
        dependencies: dict[str, Any] = {}
        if creates_per_minute:
            dependencies["creates_per_minute"] = RateLimit(
                creates_per_minute, per=dt.timedelta(minutes=1), scope=self.names.prefix
            )
        if max_in_flight:
            dependencies["max_in_flight"] = ConcurrencyLimit(
                max_concurrent=max_in_flight, scope="checks"
            )
        token = _handler.set(handler)
        try:
            async with Worker(
                self._docket,
                name=f"{socket.gethostname()}#{os.getpid()}#{id(self):x}",
                concurrency=concurrency,
                redelivery_timeout=dt.timedelta(seconds=redelivery_timeout),
                schedule_automatic_tasks=False,
                dependencies=dependencies or None,
            ) as worker:
                if until_finished:
                    await worker.run_until_finished()
                else:
                    await worker.run_forever()
        finally:
            _handler.reset(token)
