"""The connection pool of a client: how many requests hold a connection, and how many
sockets its own aiohttp session keeps open.

:class:`Slots` counts the requests that hold one of the pool's connections; those beyond the
limit wait their turn, first come first served, for at most ``Timeouts.pool``. A request
that finds a slot free takes it with a subtraction, no future or coroutine.

aiohttp's ``TCPConnector(limit=n)`` counts only the connections in use: idle keep-alive
sockets wait in the pool beside them, one pool per host, so a client that talks to the API
host and a storage host could hold nearly twice its limit. :class:`BoundedConnector` closes
the longest-idle sockets before it opens one past the limit, and makes its connections with
:class:`~._timers.LazyReadHandler` (one read timer per connection, not two per request).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from ._timers import LAZY_READS, LazyReadHandler

if TYPE_CHECKING:
    from aiohttp.client_proto import ResponseHandler
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.tracing import Trace


class Slots:
    """At most ``limit`` holders at once; the others wait in arrival order.

    ``free`` is the number of slots nobody holds: a caller that sees it above 0 takes one by
    decrementing it (never awaiting), and otherwise awaits :meth:`wait`. :meth:`release`
    hands a released slot straight to the longest waiter, so ``free`` is above 0 only while
    nobody waits, and a newcomer never overtakes a waiter. A waiter cancelled (or timed out)
    leaves the queue; one cancelled just as a slot was handed to it passes the slot on.
    """

    __slots__ = ("_waiters", "free", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.free = limit
        self._waiters: deque[asyncio.Future[None]] = deque()

    def close(self, error: Callable[[], BaseException]) -> None:
        """Fail every wait in progress with an ``error()`` of its own (the transport is
        closing)."""
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error())

    @property
    def waiting(self) -> int:
        """How many callers wait for a slot."""
        return len(self._waiters)

    async def wait(self) -> None:
        """Wait until a slot is handed over: the caller then holds it (call :meth:`release`).

        Only for when ``free`` is 0; cancelling the wait (a timeout) gives up the turn.

        Raises:
            BaseException: the error :meth:`close` made, if it ended the wait.
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            # Not done: something else was thrown in (GeneratorExit when the coroutine is
            # closed); cancelled: a timeout. Either way the turn is given up.
            if not waiter.done() or waiter.cancelled():
                waiter.cancel()
                self._remove(waiter)
            elif waiter.exception() is None:  # handed a slot as the wait was cancelled:
                self.release()  # the next waiter gets it
            raise

    def _remove(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):  # already taken off by release()
            self._waiters.remove(waiter)

    def release(self) -> None:
        """Give back a held slot: to the longest waiter, else to ``free``."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


class BoundedConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` whose open sockets, idle ones included, never exceed ``limit``
    (0: no limit). It relies on aiohttp's pool internals (``_conns``, ``_acquired``), checked
    by the hostile tests for the aiohttp versions the package allows, and its connections are
    :class:`~._timers.LazyReadHandler` where aiohttp has the internals that one replaces."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if LAZY_READS and hasattr(self, "_factory"):
            self._factory = functools.partial(LazyReadHandler, loop=self._loop)  # type: ignore[assignment]

    async def _create_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        self._trim_idle()
        return await super()._create_connection(req, traces, timeout)

    def _trim_idle(self) -> None:
        """Close the longest-idle sockets so that, with the one about to open (already
        counted as in use), no more than ``limit`` are open."""
        if not self.limit:
            return
        idle = [(used, key, proto) for key, conns in self._conns.items() for proto, used in conns]
        surplus = len(self._acquired) + len(idle) - self.limit
        if surplus <= 0:
            return
        idle.sort(key=lambda entry: entry[0])
        for used, key, proto in idle[:surplus]:
            conns = self._conns[key]
            conns.remove((proto, used))
            if not conns:
                del self._conns[key]
            proto.close()
