"""Acting out the faults of a :class:`~helios_async.testing.FaultPlan` on the wire.

One ``aiohttp`` middleware per host. On the API host it sits between the request log and
the API-key gate (so a faulted request is logged, and a gateway fault answers before the key
is even checked); on the storage host right after the log. It maps the aiohttp route name to
the plan's route, asks the plan for a fault and acts it out:

* answers of its own (:class:`ErrorStatus`, :class:`RateLimited`, :class:`GatewayHtml`),
  with or without running the handler first;
* a connection dropped unanswered (:class:`Reset`): a TCP reset (``SO_LINGER`` 0) before or
  after the handler;
* a cut-short answer (:class:`ResetMidBody`, :class:`Truncate`): the real status and headers,
  part of the body, then a reset or a clean close;
* a pause (:class:`Slow`), a garbled 200 (:class:`MalformedJson`);
* state changes the hosts carry out (:class:`NeverFinishes`, :class:`UrlExpired`) through
  request keys.

The connection tricks live in ``_wire``.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import math
import time
import typing
from collections.abc import Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from helios_async.testing._api import json_response
from helios_async.testing._fault_plan import FaultPlan
from helios_async.testing._faults import (
    EXPIRE_URL,
    INJECTED_FAULT,
    STALL_RUN,
    ErrorStatus,
    Fault,
    GatewayHtml,
    MalformedJson,
    NeverFinishes,
    RateLimited,
    Reset,
    ResetMidBody,
    Route,
    Slow,
    Truncate,
    UrlExpired,
)
from helios_async.testing._recording import Handler, Host
from helios_async.testing._storage import s3_error
from helios_async.testing._wire import CutShort, hang_up

__all__ = ["ROUTE_NAMES", "fault_injection"]

#: aiohttp route name -> fault-plan route (names from ``_api.ApiHost`` and ``_storage``).
ROUTE_NAMES: typing.Final[dict[str, Route]] = {
    "account": "account",
    "create_run": "create",
    "create_activity_run": "activity",
    "get_run": "get",
    "get_run_legacy": "get",
    "upload": "upload",
}

# What an AWS-API-Gateway-style front door says with each status (its 403 is seen in practice).
_GATEWAY_MESSAGES: typing.Final[dict[int, str]] = {
    429: "Too Many Requests",
    502: "Internal server error",
    503: "Service Unavailable",
    504: "Endpoint request timed out",
}
# S3's codes and messages for the statuses object storage itself sends.
_S3_ERRORS: typing.Final[dict[int, tuple[str, str]]] = {
    429: ("TooManyRequests", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


def fault_injection(
    plan: Callable[[], FaultPlan], *, host: Host, closing: asyncio.Event
) -> Middleware:
    """The middleware that injects ``plan()``'s faults on ``host``.

    ``closing`` is set when the sandbox shuts down: :class:`Slow` pauses then end at once
    and their connections are dropped unanswered, so closing never waits on them.
    """

    @web.middleware
    async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.match_info.route.name
        route = ROUTE_NAMES.get(name) if name else None
        fault = None if route is None else plan().decide(route)
        if fault is None:
            return await handler(request)
        request[INJECTED_FAULT] = fault
        return await _act_out(fault, request, handler, host=host, closing=closing)

    return inject


async def _act_out(
    fault: Fault, request: web.Request, handler: Handler, *, host: Host, closing: asyncio.Event
) -> web.StreamResponse:
    if isinstance(fault, Slow):
        if await _pause(fault.seconds, closing):
            return hang_up(request)
        return await handler(request)
    if isinstance(fault, NeverFinishes):
        request[STALL_RUN] = True
        return await handler(request)
    if isinstance(fault, UrlExpired):
        request[EXPIRE_URL] = True
        return await handler(request)
    if isinstance(fault, Reset):
        if fault.after_handler:
            await handler(request)
        return hang_up(request)
    if isinstance(fault, RateLimited):
        return _rate_limited(fault, host)
    if isinstance(fault, ErrorStatus | GatewayHtml):
        if fault.after_handler:
            await handler(request)
        if isinstance(fault, GatewayHtml):
            return _gateway_page(fault.status)
        return _error_status(fault.status, host)
    response = await handler(request)
    body = _body_of(response)
    if isinstance(fault, MalformedJson):
        broken = body[: len(body) // 2] if body.startswith(b"{") else b'{"detail": '
        return web.Response(status=200, body=broken, content_type="application/json")
    if isinstance(fault, ResetMidBody | Truncate):
        return CutShort(response, body, fault.fraction, reset=isinstance(fault, ResetMidBody))
    raise TypeError(f"unknown fault {fault!r}")  # pragma: no cover - every kind is above


async def _pause(seconds: float, closing: asyncio.Event) -> bool:
    """Sleep ``seconds``; True if the sandbox started closing meanwhile."""
    try:
        async with asyncio.timeout(seconds):
            await closing.wait()
    except TimeoutError:
        return False
    return True


def _body_of(response: web.StreamResponse) -> bytes:
    body = response.body if isinstance(response, web.Response) else None
    return body if isinstance(body, bytes) else b""


def _error_status(status: int, host: Host) -> web.Response:
    if host == "storage":
        phrase = http.HTTPStatus(status).phrase
        code, message = _S3_ERRORS.get(status, (phrase.replace(" ", ""), phrase))
        return s3_error(status, code, message)
    if status == 500:  # what an unhandled exception in a FastAPI app answers
        return web.Response(status=500, text="Internal Server Error", content_type="text/plain")
    message = _GATEWAY_MESSAGES.get(status, http.HTTPStatus(status).phrase)
    return json_response(status, {"message": message})


def _rate_limited(fault: RateLimited, host: Host) -> web.Response:
    if fault.http_date:
        # Rounded down to the second, so the wait a client computes is at most retry_after.
        retry_after = email.utils.formatdate(
            math.floor(time.time() + fault.retry_after), usegmt=True
        )
    else:
        retry_after = str(math.ceil(fault.retry_after))
    response = _error_status(429, host)
    response.headers[hdrs.RETRY_AFTER] = retry_after
    return response


def _gateway_page(status: int) -> web.Response:
    title = f"{status} {http.HTTPStatus(status).phrase}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=page, content_type="text/html")
