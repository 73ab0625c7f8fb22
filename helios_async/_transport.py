"""The one seam that does I/O: a :class:`Transport` sends one request and returns one response.

:class:`AiohttpTransport` is the default, and the only place that knows aiohttp: it owns (or
borrows) the ``aiohttp.ClientSession``, bounds each attempt by :class:`~helios_async.Timeouts`
(the pool wait, aiohttp's ``ClientTimeout`` and, from ``_timers``, the deadline of an API
call's answer, or for an upload an asyncio timeout that follows its size), caps response
bodies and, through ``_transport_errors``, maps aiohttp's failures onto the error tree with
presigned signatures redacted from their text. Everything above it works on
:class:`~helios_async.ApiRequest` and :class:`~helios_async.ApiResponse` values alone, so
tests (yours too) can swap in :class:`helios_async.testing.MockTransport`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncGenerator
from typing import Protocol, runtime_checkable

import aiohttp
from yarl import URL

from ._config import Timeouts
from ._errors import (
    ClientClosedError,
    InvalidInputError,
    PoolTimeoutError,
    RequestTimeoutError,
    WrongEventLoopError,
)
from ._exchange import fetch
from ._pool import BoundedConnector, Slots
from ._protocol import ApiRequest, ApiResponse
from ._recording import RecordingBody
from ._redaction import drop_inner_frames, redact_url
from ._timers import Deadlines
from ._transport_errors import reraise
from ._upload_watch import upload

__all__ = ["AiohttpTransport", "Transport"]

logger = logging.getLogger("helios_async")
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
_KEPT_URLS = 1_024  # parsed API URLs kept per transport (one per run polled, and a few)


@runtime_checkable
class Transport(Protocol):
    """Sends one request and reads the whole response: what a client needs of the network.

    ``send`` makes exactly one attempt (retrying, rate limits and hooks are the client's),
    sends the URL verbatim, follows no redirect, and streams a
    :class:`~helios_async.RecordingBody` by opening it afresh. It returns any status as an
    :class:`~helios_async.ApiResponse` and raises a
    :class:`~helios_async.TransportError` (``ConnectError``, ``RequestTimeoutError``) when no
    usable response arrived. ``timeouts`` are the client's limits in seconds (see
    :class:`~helios_async.Timeouts` for how an upload's follow its size). ``aclose``
    releases what the transport owns; the client calls it once, on close.
    """

    async def send(self, request: ApiRequest, *, timeouts: Timeouts) -> ApiResponse:
        """Send ``request`` once and return its response, whatever the status."""
        ...

    async def aclose(self) -> None:
        """Release the transport's resources (idempotent)."""
        ...


@functools.lru_cache(maxsize=64)  # a client has one or two Timeouts: build each limit once
def client_timeout(timeouts: Timeouts, *, upload: bool) -> aiohttp.ClientTimeout:
    """aiohttp's part of the limits of one attempt: ``connect`` to open a connection, and for
    an API call ``read`` for each wait for response bytes. No total (the transport's own
    timers bound the attempt: ``_timers``) and no pool wait (the transport queues requests
    itself); an upload has no read timer, which aiohttp would run while the body is still
    being sent.
    """
    return aiohttp.ClientTimeout(
        total=None,
        connect=None,
        sock_connect=timeouts.connect,
        sock_read=None if upload else timeouts.read,
    )


class AiohttpTransport:
    """The default :class:`Transport`, on one ``aiohttp.ClientSession``.

    Pass ``session`` to borrow yours: it is used as is and never closed here. Otherwise the
    transport opens its own on the first request, with at most ``connection_limit`` sockets
    open (0: no limit), idle keep-alive ones included, and closes it in :meth:`aclose`, or
    when the event loop it was opened in ends. Requests beyond the pool's limit wait for a
    free connection at most ``Timeouts.pool`` seconds. A response body over
    ``max_response_bytes`` (4 MiB by default) ends in
    :class:`~helios_async.ResponseTooLargeError`; an error body is read up to 64 KiB.

    Raises:
        InvalidInputError: ``connection_limit`` is not an int of 0 or more, or
            ``max_response_bytes`` not an int of at least 1.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        connection_limit: int = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if isinstance(connection_limit, bool) or not isinstance(connection_limit, int):
            raise InvalidInputError("connection_limit", "must be an int (0: no limit)")
        if connection_limit < 0:
            raise InvalidInputError(
                "connection_limit", f"must be 0 or more, got {connection_limit}"
            )
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise InvalidInputError(
                "max_response_bytes", f"must be an int of at least 1, got {max_response_bytes!r}"
            )
        self._session = session
        self.owns_session = session is None
        self._connection_limit = connection_limit
        self.max_response_bytes = max_response_bytes
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: Slots | None = None
        self._deadlines: Deadlines | None = None
        self._lifeline: AsyncGenerator[None, None] | None = None
        # Per-request constants, built once: the aiohttp timeouts of the last Timeouts seen
        # (API call, upload), and the parsed URL of each API URL (a run is polled many times).
        self._timeouts: tuple[Timeouts, aiohttp.ClientTimeout, aiohttp.ClientTimeout] | None = None
        self._urls: dict[str, URL] = {}

    @property
    def pool_limit(self) -> int:
        """The most connections its session opens at once (0: no limit)."""
        if self._session is None:
            return self._connection_limit
        connector = self._session.connector
        limits = [connector.limit, connector.limit_per_host] if connector is not None else []
        return min((limit for limit in limits if limit), default=0)

    async def _open_session(self) -> aiohttp.ClientSession:
        """The session, opened on first use in the running loop, which it then belongs to."""
        if self._closed:
            raise ClientClosedError("this HeliosClient is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            limit = self.pool_limit
            self._slots = Slots(limit) if limit else None
            self._deadlines = Deadlines(loop)
        elif loop is not self._loop:
            ended = (
                "which has ended (its session was closed with it)"
                if (self._loop.is_closed())
                else "which is still running"
            )
            raise WrongEventLoopError(
                f"this HeliosClient first sent from another event loop, {ended}: an aiohttp "
                "session belongs to one loop, so create one client per loop (one per "
                "asyncio.run)"
            )
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=BoundedConnector(limit=self._connection_limit)
            )
            self._lifeline = self._close_with_loop()
            await anext(self._lifeline)
        elif self._session.closed:
            raise ClientClosedError("the aiohttp session this HeliosClient uses is closed")
        return self._session

    async def _close_with_loop(self) -> AsyncGenerator[None, None]:
        """Suspended while the owned session is open. An event loop closes the async
        generators started in it when it shuts down (``asyncio.run`` does), so a session
        left open by its user is still closed in its own loop, never leaked."""
        try:
            yield
        finally:
            session, self._session = self._session, None
            if session is not None and not session.closed:
                await session.close()

    async def aclose(self) -> None:
        """Close an owned session and its connections; a borrowed one is left open. Requests
        waiting for a connection of the pool raise ClientClosedError."""
        self._closed = True
        if self._slots is not None:
            self._slots.close(_closed_error)
        lifeline, self._lifeline = self._lifeline, None
        if lifeline is not None:
            await lifeline.aclose()
        elif self.owns_session and self._session is not None:
            await self._session.close()
        if self.owns_session:
            self._session = None

    async def send(self, request: ApiRequest, *, timeouts: Timeouts) -> ApiResponse:
        """Send one request and read the whole response.

        The URL is sent exactly as given (``encoded=True``: never re-quoted) and redirects
        are not followed, so the key can never travel to another host.

        Raises:
            ClientClosedError: the transport was closed (before or during the request), or a
                borrowed session by its owner.
            WrongEventLoopError: called from another event loop than the one it first ran in.
            PoolTimeoutError: no connection of the pool came free within ``timeouts.pool``.
            ConnectError: the connection could not be opened (the server never saw it).
            RequestTimeoutError: a limit of ``timeouts`` fired; ``limit`` says which.
            ResponseTooLargeError: a 2xx body over ``max_response_bytes``.
            TransportError: the connection broke, or the body was cut short.
            RecordingError: an upload's file became unreadable or shorter.
        """
        session = self._session
        # An owned session, open in this loop, is used as is; anything else is checked.
        if session is None or not self.owns_session or asyncio.get_running_loop() is not self._loop:
            session = await self._open_session()
        known = self._timeouts
        if known is None or known[0] is not timeouts:
            known = self._timeouts = (
                timeouts,
                client_timeout(timeouts, upload=False),
                client_timeout(timeouts, upload=True),
            )
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        slots = self._slots
        if slots is not None:  # hold one of the pool's connections for the attempt
            if slots.free:
                slots.free -= 1  # free: taken at once, no wait to bound
            else:
                await self._wait_for_slot(slots, request, timeouts)
        try:
            body = request.body
            if isinstance(body, RecordingBody):
                with body.open() as chunks:
                    response = await upload(
                        session,
                        request,
                        chunks,
                        body.size,
                        timeouts,
                        known[2],
                        self.max_response_bytes,
                    )
            else:
                # An API call: at most ``timeouts.response`` from here to the last byte.
                # Whatever is raised below loses the frames under this one: aiohttp's, and
                # fetch's, whose locals hold the URL (a yarl.URL, a ClientResponse) and the
                # key's header, for any traceback formatted with its locals to show. No
                # local here holds the parsed URL either.
                assert self._deadlines is not None
                deadline = self._deadlines.start(timeouts.response)
                try:
                    response = await fetch(
                        session,
                        request,
                        self._urls.get(request.url) or self._url(request),
                        body,
                        known[1],
                        self.max_response_bytes,
                    )
                except BaseException as exc:
                    if deadline.end(exc):
                        drop_inner_frames(exc)
                        raise RequestTimeoutError(
                            f"no whole answer within Timeouts.response={timeouts.response:g} s",
                            method=request.method,
                            url=redact_url(request.url),
                            limit="response",
                        ) from None
                    reraise(exc, request, body, known[1])
                deadline.end(None)
        except Exception as exc:
            if self._closed and not isinstance(exc, ClientClosedError):
                # aclose() closed the connector under this request: the caller closed the
                # client, nothing failed to connect, and a retry would be pointless.
                raise ClientClosedError(
                    "this HeliosClient was closed while the request was in flight"
                ) from exc
            raise
        finally:
            if slots is not None:
                slots.release()
        if debug:
            logger.debug(
                "%s %s -> %d in %.3f s",
                request.method,
                redact_url(request.url),
                response.status,
                time.perf_counter() - started,
            )
        return response

    async def _wait_for_slot(self, slots: Slots, request: ApiRequest, timeouts: Timeouts) -> None:
        """Wait for one of the pool's connections, at most ``timeouts.pool``.

        Raises:
            PoolTimeoutError: none came free in time.
            ClientClosedError: the transport was closed meanwhile.
        """
        try:
            async with asyncio.timeout(timeouts.pool):
                await slots.wait()
        except TimeoutError:
            raise PoolTimeoutError(
                f"no free connection within Timeouts.pool={timeouts.pool:g} s: all "
                f"{slots.limit} of the pool (connection_limit) stayed in use",
                method=request.method,
                url=redact_url(request.url),
            ) from None
        if self._closed:  # handed a slot as the transport closed
            slots.release()
            raise _closed_error()

    def _url(self, request: ApiRequest) -> URL:
        """The request's URL, verbatim (``encoded=True``: never re-quoted), parsed; an API
        URL is kept (``self._urls``), a presigned one (used once) never."""
        url = URL(request.url, encoded=True)
        if not request.to_storage:
            if len(self._urls) >= _KEPT_URLS:
                self._urls.clear()
            self._urls[request.url] = url
        return url


def _closed_error() -> ClientClosedError:
    return ClientClosedError("this HeliosClient was closed while the request waited to send")
