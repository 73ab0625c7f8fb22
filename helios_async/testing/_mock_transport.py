"""An in-memory :class:`~helios_async.Transport`: a handler function answers every request.

Like httpx's ``MockTransport``: no sockets, no server, no event-loop timing. Hand it to
``HeliosClient(transport=...)`` to test code that uses the client::

    def handler(request: ApiRequest) -> ApiResponse:
        if request.operation == "get_account":
            return mock_response(200, json={"id": "acc-1", "features": []})
        return mock_response(404, json={"detail": "not found"})

    async with HeliosClient("key", transport=MockTransport(handler)) as client:
        ...
"""

from __future__ import annotations

import inspect
import json as jsonlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from helios_async import ApiRequest, ApiResponse, RecordingBody, Timeouts

__all__ = ["MockHandler", "MockTransport", "mock_response"]

MockHandler = Callable[[ApiRequest], ApiResponse | Awaitable[ApiResponse]]
"""Answers one request: a function or coroutine function returning an ApiResponse, or
raising a ``TransportError`` (``ConnectError``, ``RequestTimeoutError``) to simulate one."""


def mock_response(
    status: int = 200,
    *,
    json: Any = None,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> ApiResponse:
    """An :class:`~helios_async.ApiResponse`: ``json`` (serialised, with its Content-Type)
    or the raw ``body`` bytes, and ``headers`` looked up case-insensitively."""
    merged: CIMultiDict[str] = CIMultiDict()
    if json is not None:
        body = jsonlib.dumps(json).encode()
        merged["Content-Type"] = "application/json"
    merged.update(headers or {})
    return ApiResponse(status=status, headers=CIMultiDictProxy(merged), body=body)


class MockTransport:
    """A transport whose every request is answered by ``handler`` (see :data:`MockHandler`).

    An upload's body (a :class:`~helios_async.RecordingBody`) is read whole, as the network
    would stream it, so the handler always sees ``request.body`` as bytes or None.
    ``requests`` lists every request handled, in order; ``closed`` says whether the client
    closed the transport.
    """

    def __init__(self, handler: MockHandler) -> None:
        self._handler = handler
        self.requests: list[ApiRequest] = []
        self.closed = False

    async def send(self, request: ApiRequest, *, timeouts: Timeouts) -> ApiResponse:
        """Hand ``request`` to the handler and return its answer (``timeouts`` unused)."""
        del timeouts
        if isinstance(request.body, RecordingBody):
            with request.body.open() as chunks:
                data = b"".join([chunk async for chunk in chunks])
            request = attrs.evolve(request, body=data)
        self.requests.append(request)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        return answer

    async def aclose(self) -> None:
        """Mark the transport closed; idempotent."""
        self.closed = True
