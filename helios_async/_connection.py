"""What a client and its ``with_options`` views share: the transport, whether the client is
open, and a client-wide cool-down."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from ._errors import ClientClosedError
from ._transport import AiohttpTransport, Transport


class Connection:
    """The :class:`~helios_async.Transport` behind a client, its lifecycle and its cool-down.

    A client that builds its own aiohttp transport is open only between ``open`` and
    ``close``; one given a borrowed session or a transport of the caller's is usable at once.
    The cool-down is the time until which every request of the client waits, set when the
    API answers 429 with ``Retry-After``, so one rate limit pauses all tasks instead of each
    hammering on; when it ends, the waiting requests resume spread over a jitter window.
    Closing wakes every request sleeping here (a cool-down or a retry's backoff) with
    :class:`~helios_async.ClientClosedError`.
    """

    def __init__(self, transport: Transport, *, needs_open: bool) -> None:
        self.transport = transport
        self._opened = not needs_open
        self._closed = False
        #: Whether requests may be sent now (open, not closed): read by every request, which
        #: calls :meth:`check_open` for the error only when it is False.
        self.usable = self._opened
        #: Loop time (seconds) until which every request waits; 0.0 when none is in force, so
        #: that a request checks it without a call.
        self.cooldown_until = 0.0
        self._cooldown_seconds = 0.0  # how long the latest cool-down was
        self._sleeping: set[asyncio.Task[object]] = set()  # tasks in sleep(), woken by close
        self._woken: set[asyncio.Task[object]] = set()

    @property
    def pool_limit(self) -> int:
        """The most requests the transport sends at once (0: no limit known)."""
        return self.transport.pool_limit if isinstance(self.transport, AiohttpTransport) else 0

    @property
    def state(self) -> str:
        """``"not open"``, ``"open"`` or ``"closed"``."""
        if self._closed:
            return "closed"
        return "open" if self._opened else "not open"

    def open(self) -> None:
        if self._closed:
            raise ClientClosedError("this HeliosClient is closed; create a new one")
        self._opened = True
        self.usable = True

    async def close(self) -> None:
        """Close the transport (an owned session and its connections); idempotent."""
        if self._closed:
            return
        self._closed = True
        self.usable = False
        for task in self._sleeping:
            self._woken.add(task)
            task.cancel()
        await self.transport.aclose()

    def check_open(self) -> None:
        """Raise unless requests may be sent now.

        Raises:
            ClientClosedError: the client is not open yet, or closed.
        """
        if self._closed:
            raise ClientClosedError("this HeliosClient is closed; create a new one")
        if not self._opened:
            raise ClientClosedError(
                "this HeliosClient is not open: use `async with HeliosClient(...) as client`"
            )

    def start_cooldown(self, seconds: float) -> None:
        """Make every request wait until ``seconds`` from now (never shortens a cool-down)."""
        until = asyncio.get_running_loop().time() + seconds
        if until > self.cooldown_until:
            self.cooldown_until = until
            self._cooldown_seconds = seconds

    async def sleep(self, sleep: Callable[[float], Awaitable[None]], seconds: float) -> None:
        """``await sleep(seconds)``, cut short by :meth:`close`.

        Raises:
            ClientClosedError: the client is closed, or was closed during the sleep.
        """
        self.check_open()
        task = asyncio.current_task()
        if task is None:  # not in a task: nothing to wake
            await sleep(seconds)
            return
        self._sleeping.add(task)
        try:
            await sleep(seconds)
        except asyncio.CancelledError:
            if task in self._woken:
                self._woken.discard(task)
                if task.uncancel() == 0:  # only close() cancelled it
                    raise ClientClosedError(
                        "this HeliosClient was closed while the request waited to send"
                    ) from None
            raise
        finally:
            self._sleeping.discard(task)
        if task in self._woken:  # close() came as the sleep ended: take its cancel back
            self._woken.discard(task)
            task.uncancel()
        self.check_open()

    async def wait_cooldown(self, sleep: Callable[[float], Awaitable[None]], jitter: float) -> None:
        """Sleep out any cool-down in force with ``sleep``; one set meanwhile is waited too.

        Each cool-down is slept once, for what was left of it plus a random share of
        ``jitter`` seconds (at most the cool-down's own length), so the requests it held
        resume spread out, and an injected ``sleep`` that returns at once never spins here.

        Raises:
            ClientClosedError: the client was closed meanwhile.
        """
        loop = asyncio.get_running_loop()
        while (until := self.cooldown_until) > (now := loop.time()):
            spread = min(jitter, self._cooldown_seconds)
            await self.sleep(sleep, until - now + random.uniform(0.0, spread))
            if self.cooldown_until <= until:  # not extended while we slept
                break
        if self.cooldown_until <= loop.time():
            self.cooldown_until = 0.0  # over: later requests skip this call
