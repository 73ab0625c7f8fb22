"""What can go wrong on the sandbox's wire: the fault kinds, the routes they target, and the
request keys by which the hosts act them out.

Routes (docs/helios.md#endpoints): ``"account"`` (``GET /v1/account``), ``"create"`` (the
create POST), ``"activity"`` (the Activity Plugin create), ``"get"`` (reading a run, on either
path) and ``"upload"`` (the presigned PUT on the storage host). Requests to no route (unknown
paths) never get a fault.

The faults are plain frozen values (:func:`chaos_menu` lists those that fit a route): a
:class:`~helios_async.testing.FaultPlan` (``_fault_plan``) decides which request gets which,
and the sandbox's middleware (``_inject``) acts them out.
"""

from __future__ import annotations

import typing

import attrs
from aiohttp import web

__all__ = [
    "API_ROUTES",
    "EXPIRE_URL",
    "FAULT_KINDS",
    "INJECTED_FAULT",
    "MAX_SLOW_SECONDS",
    "ROUTES",
    "STALL_RUN",
    "UNANSWERED",
    "ErrorStatus",
    "Fault",
    "GatewayHtml",
    "MalformedJson",
    "NeverFinishes",
    "RateLimited",
    "Reset",
    "ResetMidBody",
    "Route",
    "Slow",
    "Truncate",
    "UrlExpired",
    "chaos_menu",
]

Route = typing.Literal["account", "create", "activity", "get", "upload"]
#: Every route a fault can target, API host first, then the storage host.
ROUTES: typing.Final[tuple[Route, ...]] = ("account", "create", "activity", "get", "upload")
#: The routes of the API host.
API_ROUTES: typing.Final[frozenset[Route]] = frozenset(("account", "create", "activity", "get"))
#: The longest :class:`Slow` pause allowed, in seconds, so no test can hang on one.
MAX_SLOW_SECONDS: typing.Final[float] = 30.0


# ---------------------------------------------------------------------------------- faults


@attrs.frozen
class Fault:
    """Base class of every fault. ``routes`` lists the routes it makes sense on."""

    routes: typing.ClassVar[frozenset[Route]] = frozenset(ROUTES)


def _error_status(_instance: object, _attribute: object, value: int) -> None:
    if not 400 <= value <= 599:
        raise ValueError(f"an error status must be 4xx or 5xx, got {value}")


def _fraction(_instance: object, _attribute: object, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {value}")


def _slow_seconds(_instance: object, _attribute: object, value: float) -> None:
    if not 0.0 < value <= MAX_SLOW_SECONDS:
        raise ValueError(f"seconds must be in (0, {MAX_SLOW_SECONDS:g}], got {value}")


@attrs.frozen
class ErrorStatus(Fault):
    """Answer ``status`` (500, 502, 503, 504, ...) in the host's own error style.

    The API host answers like its gateway does (500 ``text/plain`` "Internal Server Error";
    502/503/504 ``{"message": ...}``), the storage host in S3 XML (503 ``SlowDown``). With
    ``after_handler`` the request is handled first (a create makes its run, an upload is
    stored) and only the answer is replaced: the "acted, then failed" case a client must
    never retry blindly (see https://helios-async.readthedocs.io/helios/#retries-and-idempotency).
    """

    status: int = attrs.field(default=503, validator=_error_status)
    """The HTTP status to answer, 500 or above."""
    after_handler: bool = attrs.field(default=False, kw_only=True)
    """Handle the request first (a create makes its run), then replace only the answer."""


@attrs.frozen
class RateLimited(Fault):
    """429 with ``Retry-After``: ``retry_after`` seconds, sent as whole seconds
    (rounded up) or, with ``http_date``, as an RFC 9110 HTTP date of the real wall clock
    (rounded down to the second, so a client waits at most ``retry_after``). The request is
    not handled: a 429 proves the server did not act."""

    retry_after: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    """Seconds the client is asked to wait."""
    http_date: bool = attrs.field(default=False, kw_only=True)
    """Send ``Retry-After`` as an HTTP date instead of seconds."""


@attrs.frozen
class Reset(Fault):
    """Close the connection with a TCP reset instead of answering.

    Before the handler (the default) the server never acts: a create makes no run. With
    ``after_handler`` the request is handled first, so a create *does* make a run whose id
    the client never learns: :meth:`Sandbox.runs_created` counts it.
    """

    after_handler: bool = attrs.field(default=False, kw_only=True)
    """Handle the request first, then reset instead of answering."""


@attrs.frozen
class ResetMidBody(Fault):
    """Handle the request, send the status line, the headers (with the full
    ``Content-Length``) and the first ``fraction`` of the body, then reset the connection.
    An empty body is declared as 1 byte, so the cut is always visible."""

    fraction: float = attrs.field(default=0.5, validator=_fraction)
    """The share of the body sent before the reset, in ``[0, 1)``."""


@attrs.frozen
class Truncate(Fault):
    """Like :class:`ResetMidBody` but the connection is closed cleanly (FIN) after the first
    ``fraction`` of the body: the ``Content-Length`` promises more bytes than arrive."""

    fraction: float = attrs.field(default=0.5, validator=_fraction)
    """The share of the body sent before the close, in ``[0, 1)``."""


@attrs.frozen
class Slow(Fault):
    """Wait ``seconds`` (at most :data:`MAX_SLOW_SECONDS`) before handling the request.

    The request is still handled and answered afterwards, even if the client gave up (so a
    timed-out create still makes its run). :meth:`Sandbox.close` cuts pauses short and drops
    their connections unanswered.
    """

    seconds: float = attrs.field(validator=_slow_seconds)
    """The pause before handling, in seconds."""


@attrs.frozen
class GatewayHtml(Fault):
    """An HTML error page from a gateway in front of the service (nginx style,
    ``text/html``), ``502 Bad Gateway`` by default. ``after_handler`` as for
    :class:`ErrorStatus`."""

    status: int = attrs.field(default=502, validator=_error_status)
    """The HTTP status of the page, 500 or above."""
    after_handler: bool = attrs.field(default=False, kw_only=True)
    """Handle the request first (a create makes its run), then replace only the answer."""


@attrs.frozen
class MalformedJson(Fault):
    """Handle the request, then answer 200 ``application/json`` with the first half of the
    real body: never valid JSON. A create has made its run. API routes only."""

    routes: typing.ClassVar[frozenset[Route]] = API_ROUTES


@attrs.frozen
class NeverFinishes(Fault):
    """The run this request creates (``create``, ``activity``) or uploads the recording of
    (``upload``) never finishes: once its recording arrives it stays ``RUNNING`` and
    its ``completedAt`` stays null. The request itself is answered normally."""

    routes: typing.ClassVar[frozenset[Route]] = frozenset(("create", "activity", "upload"))


@attrs.frozen
class UrlExpired(Fault):
    """The presigned URL expires early: its expiry moves to now, so this PUT and every later
    one is refused 403 ``AccessDenied`` "Request has expired", as object storage does. Upload
    only."""

    routes: typing.ClassVar[frozenset[Route]] = frozenset(("upload",))


#: Every fault class the sandbox can act out.
FAULT_KINDS: typing.Final[tuple[type[Fault], ...]] = (
    ErrorStatus,
    RateLimited,
    Reset,
    ResetMidBody,
    Truncate,
    Slow,
    GatewayHtml,
    MalformedJson,
    NeverFinishes,
    UrlExpired,
)


def chaos_menu(
    route: Route, *, slow_seconds: float = 0.5, long_retry_after: float = 3600.0
) -> tuple[Fault, ...]:
    """The faults :meth:`FaultPlan.chaos` spreads over ``route``, in order."""
    menu: list[Fault] = [
        ErrorStatus(500),
        ErrorStatus(502),
        ErrorStatus(503),
        ErrorStatus(504),
        ErrorStatus(504, after_handler=True),
        RateLimited(0),
        RateLimited(0, http_date=True),
        RateLimited(long_retry_after),
        Reset(),
        Reset(after_handler=True),
        ResetMidBody(),
        Truncate(),
        Slow(slow_seconds),
        GatewayHtml(502),
        MalformedJson(),
        NeverFinishes(),
        UrlExpired(),
    ]
    return tuple(fault for fault in menu if route in fault.routes)


# ------------------------------------------------------------- request keys for the hosts

#: The fault injected into a request (read by the request log).
INJECTED_FAULT: typing.Final = web.RequestKey("helios_sandbox_fault", Fault)
#: Set when the request was deliberately left unanswered (the log records status None).
UNANSWERED: typing.Final = web.RequestKey("helios_sandbox_unanswered", bool)
#: Tells the create and upload handlers that the run must never finish.
STALL_RUN: typing.Final = web.RequestKey("helios_sandbox_stall_run", bool)
#: Tells the storage host to expire the presigned URL now.
EXPIRE_URL: typing.Final = web.RequestKey("helios_sandbox_expire_url", bool)
