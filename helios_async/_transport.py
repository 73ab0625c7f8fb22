"""The one seam that does I/O: a :class:`Transport` sends one request and returns one response.

:class:`AiohttpTransport` is the default, and the only place that knows aiohttp: it owns (or
borrows) the ``aiohttp.ClientSession``, builds the ``ClientTimeout`` of each request from
:class:`~helios_async.Timeouts`, maps aiohttp's failures onto the error tree and redacts
presigned signatures from their text. Everything above it works on
:class:`~helios_async.ApiRequest` and :class:`~helios_async.ApiResponse` values alone, so
tests (yours too) can swap in :class:`helios_async.testing.MockTransport`.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from typing import Protocol, runtime_checkable

import aiohttp
from yarl import URL

from ._config import Timeouts
from ._errors import (
    ClientClosedError,
    ConnectError,
    InvalidInputError,
    RequestTimeoutError,
    TransportError,
)
from ._protocol import ApiRequest, ApiResponse
from ._recording import RecordingBody
from ._redaction import drop_inner_frames, redact_url

__all__ = ["AiohttpTransport", "Transport"]

logger = logging.getLogger("helios_async")
_QUERY = re.compile(r"\?[^\s'\")]+")  # a query string inside an error's text
_KEPT_URLS = 1_024  # parsed API URLs kept per transport (one per run polled, and a few)


@runtime_checkable
class Transport(Protocol):
    """Sends one request and reads the whole response: what a client needs of the network.

    ``send`` makes exactly one attempt (retrying, rate limits and hooks are the client's),
    sends the URL verbatim, follows no redirect, and streams a
    :class:`~helios_async.RecordingBody` by opening it afresh. It returns any status as an
    :class:`~helios_async.ApiResponse` and raises a
    :class:`~helios_async.TransportError` (``ConnectError``, ``RequestTimeoutError``) when no
    usable response arrived. ``timeouts`` are the client's limits in seconds; an upload
    (``request.to_storage``) is bounded by ``timeouts.upload`` in total. ``aclose`` releases
    what the transport owns; the client calls it once, on close.
    """

    async def send(self, request: ApiRequest, *, timeouts: Timeouts) -> ApiResponse:
        """Send ``request`` once and return its response, whatever the status."""
        ...

    async def aclose(self) -> None:
        """Release the transport's resources (idempotent)."""
        ...


@functools.lru_cache(maxsize=64)  # a client has one or two Timeouts: build each limit once
def client_timeout(timeouts: Timeouts, *, upload: bool) -> aiohttp.ClientTimeout:
    """The aiohttp timeout of one attempt.

    An API call gets ``connect`` and ``read`` and no total; an upload also gets ``upload``
    seconds in total.
    """
    return aiohttp.ClientTimeout(
        total=timeouts.upload if upload else None,
        sock_connect=timeouts.connect,
        sock_read=timeouts.read,
    )


class AiohttpTransport:
    """The default :class:`Transport`, on one ``aiohttp.ClientSession``.

    Pass ``session`` to borrow yours: it is used as is and never closed here. Otherwise the
    transport opens its own on the first request, with at most ``connection_limit``
    connections (0: no limit), and closes it in :meth:`aclose`.

    Raises:
        InvalidInputError: ``connection_limit`` is not an int of 0 or more.
    """

    def __init__(
        self, session: aiohttp.ClientSession | None = None, *, connection_limit: int = 100
    ) -> None:
        if isinstance(connection_limit, bool) or not isinstance(connection_limit, int):
            raise InvalidInputError("connection_limit", "must be an int (0: no limit)")
        if connection_limit < 0:
            raise InvalidInputError(
                "connection_limit", f"must be 0 or more, got {connection_limit}"
            )
        self._session = session
        self.owns_session = session is None
        self._connection_limit = connection_limit
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

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit)
            )
        elif self._session.closed:
            raise ClientClosedError("the aiohttp session this HeliosClient uses is closed")
        return self._session

    async def aclose(self) -> None:
        """Close an owned session and its connections; a borrowed one is left open."""
        session, self._session = self._session, None
        if session is not None and self.owns_session:
            await session.close()

    async def send(self, request: ApiRequest, *, timeouts: Timeouts) -> ApiResponse:
        """Send one request and read the whole response.

        The URL is sent exactly as given (``encoded=True``: never re-quoted) and redirects
        are not followed, so the key can never travel to another host.

        Raises:
            ClientClosedError: a borrowed session was closed by its owner.
            ConnectError: the connection could not be opened (the server never saw it).
            RequestTimeoutError: no response, or no body bytes, within the timeout.
            TransportError: the connection broke, or the body was cut short.
            RecordingError: an upload's file became unreadable or shorter.
        """
        session = self._session
        if session is None or not self.owns_session:  # an owned one is never closed here
            session = self._open_session()
        known = self._timeouts
        if known is None or known[0] is not timeouts:
            known = self._timeouts = (
                timeouts,
                client_timeout(timeouts, upload=False),
                client_timeout(timeouts, upload=True),
            )
        timeout = known[2] if request.to_storage else known[1]
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        # Whatever is raised below loses the frames under this one: aiohttp's, and _read's,
        # whose locals hold the URL with its signature (a yarl.URL, a ClientResponse) and
        # the key's header, for any traceback formatted with its locals to show. No local
        # here holds the parsed URL either.
        method = request.method
        body = request.body
        try:
            if isinstance(body, RecordingBody):
                with body.open() as chunks:
                    response = await _read(session, request, self._url(request), chunks, timeout)
            else:
                response = await _read(
                    session,
                    request,
                    self._urls.get(request.url) or self._url(request),
                    body,
                    timeout,
                )
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            drop_inner_frames(exc)
            raise ConnectError(
                f"could not connect: {_describe(exc)}", method=method, url=redact_url(request.url)
            ) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            drop_inner_frames(exc)
            raise RequestTimeoutError(
                "timed out waiting for the response", method=method, url=redact_url(request.url)
            ) from exc
        except aiohttp.ClientPayloadError as exc:
            drop_inner_frames(exc)
            raise TransportError(
                f"the response body was cut short: {_describe(exc)}",
                method=method,
                url=redact_url(request.url),
            ) from exc
        except aiohttp.ClientError as exc:
            drop_inner_frames(exc)
            raise TransportError(
                f"the connection failed: {_describe(exc)}",
                method=method,
                url=redact_url(request.url),
            ) from exc
        except BaseException as exc:  # a RecordingError from the body, a cancellation, ...
            drop_inner_frames(exc)
            raise
        if debug:
            logger.debug(
                "%s %s -> %d in %.3f s",
                request.method,
                redact_url(request.url),
                response.status,
                time.perf_counter() - started,
            )
        return response

    def _url(self, request: ApiRequest) -> URL:
        """The request's URL, verbatim (``encoded=True``: never re-quoted), parsed; an API
        URL is kept (``self._urls``), a presigned one (used once) never."""
        url = URL(request.url, encoded=True)
        if not request.to_storage:
            if len(self._urls) >= _KEPT_URLS:
                self._urls.clear()
            self._urls[request.url] = url
        return url


async def _read(
    session: aiohttp.ClientSession,
    request: ApiRequest,
    url: URL,
    data: object,
    timeout: aiohttp.ClientTimeout,
) -> ApiResponse:
    async with session.request(
        request.method,
        url,
        headers=request.headers,
        data=data,
        timeout=timeout,
        allow_redirects=False,
    ) as response:
        payload = await response.read()
        return ApiResponse(status=response.status, headers=response.headers, body=payload)


def _describe(exc: BaseException) -> str:
    """An aiohttp error as text, with any presigned signature in it redacted."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return _QUERY.sub("?<redacted>", text)
