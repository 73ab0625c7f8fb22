"""The sandbox's log of every request it receives, on both hosts."""

from __future__ import annotations

import datetime
import typing
from collections.abc import Awaitable, Callable

import attrs
from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware
from multidict import CIMultiDict, CIMultiDictProxy

from helios_async._redaction import PersonalBytes, redact_url
from helios_async.testing._faults import INJECTED_FAULT, UNANSWERED, Fault
from helios_async.testing._wire import hang_up

__all__ = [
    "BODY_HEAD",
    "BODY_SIZE",
    "RECORDED_BODY_LIMIT",
    "RecordedRequest",
    "recording_middleware",
]

#: At most this many leading body bytes are kept per request (1 MiB).
RECORDED_BODY_LIMIT: typing.Final[int] = 1 << 20

# A handler that streams its body itself (the storage PUT) leaves what it read here.
BODY_HEAD: typing.Final = web.RequestKey("helios_sandbox_body_head", bytes)
BODY_SIZE: typing.Final = web.RequestKey("helios_sandbox_body_size", int)

_SECRET_HEADERS: typing.Final = frozenset({"x-api-key", "authorization", "cookie"})


def _shown_url(url: str) -> str:
    """The URL without its query string (a presigned URL's signature and credential)."""
    return repr(redact_url(url))


def _shown_headers(headers: CIMultiDictProxy[str]) -> str:
    """The headers with the key's (and any credential's) value hidden."""
    shown = {
        name: "<redacted>" if name.lower() in _SECRET_HEADERS else value
        for name, value in headers.items()
    }
    return repr(shown)


def _shown_body(body: bytes) -> str:
    """Only the size: a create's body holds the user label and tags."""
    return repr(PersonalBytes(body))


Host = typing.Literal["api", "storage"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One HTTP request as the sandbox received it.

    ``url`` is the full URL with the request target exactly as sent (the raw, still
    percent-encoded path and query), so a test can prove a client did not re-quote a
    presigned URL. ``body`` holds at most the first 1 MiB of what was read;
    ``body_size`` counts every body byte read, so a 500 MB upload costs 1 MiB here (nothing
    with ``Sandbox(record_bodies=False)``). A request refused before its body was read
    (say a chunked upload answered 501) records ``body == b""`` and ``body_size == 0``.

    ``fault`` is the fault the sandbox's :class:`~helios_async.testing.FaultPlan` injected
    into this request, if any; ``status`` is None when it was left unanswered on purpose
    (:class:`~helios_async.testing.Reset`, or a :class:`~helios_async.testing.Slow` pause cut
    short by closing) or the client went away. A response cut short records its status.

    The repr hides what a test log must not show: the URL without its query string (a
    presigned URL's signature), the ``x-api-key`` header's value as ``<redacted>``, the
    body by its size only. The attributes hold everything as received.
    """

    host: Host
    """``"api"`` for the API listener, ``"storage"`` for the presigned-URL listener."""
    method: str
    """The HTTP method."""
    path: str
    """The decoded path, without the query."""
    url: str = attrs.field(repr=_shown_url)
    """``scheme://host:port`` and the raw request target."""
    headers: CIMultiDictProxy[str] = attrs.field(repr=_shown_headers)
    """A case-insensitive copy of the request headers."""
    body: bytes = attrs.field(repr=_shown_body)
    """The first 1 MiB of the body read (empty with ``record_bodies=False``)."""
    body_size: int
    """Every body byte read, counted."""
    chunked: bool
    """Whether it was sent with ``Transfer-Encoding: chunked``."""
    status: int | None
    """The status answered; None if no response was sent."""
    received_at: datetime.datetime
    """When the request arrived, by the sandbox's clock."""
    fault: Fault | None = None
    """The fault injected into it, if any."""


def recording_middleware(
    host: Host,
    log: Callable[[RecordedRequest], None],
    *,
    clock: Callable[[], datetime.datetime],
    record_bodies: bool,
) -> Middleware:
    """An outermost middleware that hands ``log`` a :class:`RecordedRequest` once answered.

    Requests are logged in the order their handling finishes, which for sequential use is
    the order they were sent. On the API host the (small, JSON) body is read here before
    the handler runs; the storage handler streams its own body and reports through
    :data:`BODY_HEAD` and :data:`BODY_SIZE`.
    """

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        received_at = clock()
        status: int | None = None
        try:
            if host == "api" and request.can_read_body:
                raw = await request.read()  # cached: the handler's own read() gets it again
                request[BODY_HEAD] = raw[:RECORDED_BODY_LIMIT]
                request[BODY_SIZE] = len(raw)
            try:
                response = await handler(request)
            except ConnectionError:
                # The client went away while its body was being read (say it timed out
                # during a Slow fault): nobody to answer, and no error to log.
                response = hang_up(request)
            status = None if request.get(UNANSWERED, False) else response.status
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            log(
                RecordedRequest(
                    host=host,
                    method=request.method,
                    path=request.path,
                    url=f"{request.scheme}://{request.host}{request.raw_path}",
                    headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                    body=request.get(BODY_HEAD, b"") if record_bodies else b"",
                    body_size=request.get(BODY_SIZE, 0),
                    chunked="chunked" in request.headers.get(hdrs.TRANSFER_ENCODING, "").lower(),
                    status=status,
                    received_at=received_at,
                    fault=request.get(INJECTED_FAULT),
                )
            )
        return response

    return record
