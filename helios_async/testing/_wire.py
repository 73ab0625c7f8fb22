"""Answering badly on purpose: dropping a connection, or cutting a response short.

Both are ``StreamResponse`` subclasses whose ``prepare`` does the damage and then raises
``ConnectionResetError``. aiohttp treats that as a client that went away (logged at DEBUG
only), skips the rest of the response and closes the connection, so nothing is left behind:
no task, no socket.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import typing

from aiohttp import hdrs, web

from helios_async.testing._faults import UNANSWERED

__all__ = ["CutShort", "drop_connection", "hang_up"]


def drop_connection(request: web.BaseRequest, *, reset: bool) -> None:
    """Close the request's connection: a TCP reset (RST) or a clean close (FIN)."""
    transport = request.transport
    if transport is None:  # the client has gone already
        return
    if not reset:
        transport.close()
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger 0: closing sends RST and drops whatever is still unsent.
        with contextlib.suppress(OSError):  # the socket may have died in between
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class _HangUp(web.StreamResponse):
    """A "response" that resets the connection instead of being sent."""

    async def prepare(self, request: web.BaseRequest) -> typing.NoReturn:
        drop_connection(request, reset=True)
        raise ConnectionResetError("sandbox fault: connection reset without an answer")


def hang_up(request: web.Request) -> web.StreamResponse:
    """A response that resets the connection unanswered; the request log records no status."""
    request[UNANSWERED] = True
    return _HangUp()


class CutShort(web.StreamResponse):
    """The real status and headers, the full ``Content-Length``, part of the body, then
    a reset (``reset``) or a clean close."""

    def __init__(
        self, source: web.StreamResponse, body: bytes, fraction: float, *, reset: bool
    ) -> None:
        headers = source.headers.copy()
        for name in (hdrs.CONTENT_LENGTH, hdrs.TRANSFER_ENCODING):
            headers.popall(name, None)
        super().__init__(status=source.status, reason=source.reason, headers=headers)
        declared = max(len(body), 1)
        self.content_length = declared
        self._part = body[: min(int(len(body) * fraction), declared - 1)]
        self._reset = reset

    async def prepare(self, request: web.BaseRequest) -> typing.NoReturn:
        await super().prepare(request)  # sends the status line and headers at once
        if self._part:
            await self.write(self._part)
        drop_connection(request, reset=self._reset)
        raise ConnectionResetError("sandbox fault: response cut short")
