"""What a client and its ``with_options`` views share: the session and a client-wide cool-down."""

from __future__ import annotations

import asyncio

import aiohttp

from ._errors import ClientClosedError


class Connection:
    """The ``aiohttp.ClientSession`` behind a client, owned or borrowed, and its cool-down.

    A borrowed session is never closed here. The cool-down is the time until which every
    request of the client waits, set when the API answers 429 with ``Retry-After``, so one
    rate limit pauses all tasks instead of each hammering on.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None,
        *,
        connection_limit: int,
        timeout: aiohttp.ClientTimeout,
    ) -> None:
        self._session = session
        self.owns_session = session is None
        self._closed = False
        self._connection_limit = connection_limit
        self._timeout = timeout
        self._cooldown_until = 0.0  # loop time, seconds

    @property
    def state(self) -> str:
        """``"not open"``, ``"open"`` or ``"closed"``."""
        if self._closed:
            return "closed"
        return "open" if self._session is not None else "not open"

    def open(self) -> None:
        if self._closed:
            raise ClientClosedError("this HeliosClient is closed; create a new one")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
                timeout=self._timeout,
            )

    async def close(self) -> None:
        """Close an owned session and its connections; idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self.owns_session:
            await session.close()

    def session(self) -> aiohttp.ClientSession:
        """The open session.

        Raises:
            ClientClosedError: the client is not open yet, closed, or its session was closed.
        """
        if self._closed:
            raise ClientClosedError("this HeliosClient is closed; create a new one")
        if self._session is None:
            raise ClientClosedError(
                "this HeliosClient is not open: use `async with HeliosClient(...) as client`"
            )
        if self._session.closed:
            raise ClientClosedError("the aiohttp session this HeliosClient uses is closed")
        return self._session

    def start_cooldown(self, seconds: float) -> None:
        """Make every request wait until ``seconds`` from now (never shortens a cool-down)."""
        until = asyncio.get_running_loop().time() + seconds
        self._cooldown_until = max(self._cooldown_until, until)

    async def wait_cooldown(self) -> None:
        """Sleep out any cool-down in force; a new one set meanwhile is waited out too."""
        loop = asyncio.get_running_loop()
        while (delay := self._cooldown_until - loop.time()) > 0:  # noqa: ASYNC110 (may grow)
            await asyncio.sleep(delay)
