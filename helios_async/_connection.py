"""What a client and its ``with_options`` views share: the transport, whether the client is
open, and a client-wide cool-down."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ._errors import ClientClosedError
from ._transport import AiohttpTransport, Transport


class Connection:
    """The :class:`~helios_async.Transport` behind a client, its lifecycle and its cool-down.

    A client that builds its own aiohttp transport is open only between ``open`` and
    ``close``; one given a borrowed session or a transport of the caller's is usable at once.
    The cool-down is the time until which every request of the client waits, set when the
    API answers 429 with ``Retry-After``, so one rate limit pauses all tasks instead of each
    hammering on.
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
        self.cooldown_until = max(self.cooldown_until, until)

    async def wait_cooldown(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Sleep out any cool-down in force with ``sleep``; one set meanwhile is waited too.

        Each cool-down is slept once, for what was left of it, so an injected ``sleep`` that
        returns at once never spins here.
        """
        loop = asyncio.get_running_loop()
        while (until := self.cooldown_until) > (now := loop.time()):
            await sleep(until - now)
            if self.cooldown_until <= until:  # not extended while we slept
                break
        if self.cooldown_until <= loop.time():
            self.cooldown_until = 0.0  # over: later requests skip this call
