"""A toolkit of misbehaving servers on 127.0.0.1 for the hostile tier (issue 10).

Two kinds, both async context managers that yield their root URL:

* :class:`RawServer`: an ``asyncio`` TCP server whose every connection is handed to a
  coroutine ``handler(conn)``, for what aiohttp.web will not do: answers dripped a byte at a
  time, silence, a reset mid-body, a server that stops reading an upload. It counts the
  connections open now and ever accepted.
* :func:`web_app`: an ``aiohttp.web`` app from a dict of routes, for well-formed answers
  with odd content (3xx, HTML error pages, 50 MB bodies, odd ``Retry-After`` values).

Every loop here is bounded; every server closes every connection on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import attrs
from aiohttp import web

SIGNATURE = "X-Amz-Signature=5ecr3t5ignatur3"
RUN_ID = "ddebd75b-99b3-42b4-ac65-5ce852c688e9"


@attrs.define
class Request:
    """A request's head as a raw server read it (header names lowercased)."""

    method: str
    target: str
    headers: dict[str, str]

    @property
    def content_length(self) -> int:
        return int(self.headers.get("content-length", "0"))


@attrs.define
class Conn:
    """One accepted connection of a :class:`RawServer`."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def read_head(self) -> Request | None:
        """The next request's line and headers, or None at EOF."""
        line = await self.reader.readline()
        if not line.strip():
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (header := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return Request(method, target, headers)

    async def read_body(self, request: Request) -> bytes:
        return await self.reader.readexactly(request.content_length)

    async def send(
        self,
        status: int,
        body: bytes = b"",
        *,
        headers: Mapping[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        """A whole answer; ``length`` overrides the Content-Length (to promise more)."""
        head = [
            f"HTTP/1.1 {status} X",
            f"Content-Length: {len(body) if length is None else length}",
        ]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a crashing server or a proxy does."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


Handler = Callable[[Conn], Awaitable[None]]


class RawServer:
    """A TCP server on 127.0.0.1 handing each connection to ``handler``.

    ``rcvbuf`` (bytes) shrinks the receive buffer of accepted sockets, so a client sending a
    large body really blocks when the handler stops reading. ``open`` counts connections open
    now, ``accepted`` all ever accepted, ``requests`` what handlers record.
    """

    def __init__(self, handler: Handler, *, rcvbuf: int | None = None) -> None:
        self._handler = handler
        self._rcvbuf = rcvbuf
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.open = 0
        self.accepted = 0
        self.requests: list[Request] = []
        self.url = ""

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        sock = self._server.sockets[0]
        if self._rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._rcvbuf)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.open += 1
        self.accepted += 1
        try:
            await self._handler(Conn(reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            self._writers.discard(writer)
            writer.transport.abort()
            self._tasks.discard(task)


async def serve_forever(conn: Conn, answer: Callable[[Request, Conn], Awaitable[None]]) -> None:
    """Read requests one after another on a keep-alive connection and ``answer`` each."""
    while (request := await conn.read_head()) is not None:
        if request.content_length:
            await conn.read_body(request)
        await answer(request, conn)


async def until(condition: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Wait (bounded) until ``condition()`` holds: the other side's sockets close in their
    own time."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (a condition on state, not an event)
            await asyncio.sleep(0.01)


Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def web_app(routes: Mapping[tuple[str, str], Route]) -> AsyncIterator[str]:
    """An aiohttp.web server on 127.0.0.1 with ``{(method, path): handler}``; yields its root."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    for (method, path), handler in routes.items():
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def json_answer(payload: Any, status: int = 200, **headers: str) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        content_type="application/json",
        headers=headers,
    )


def created(upload_url: str, run_id: str | None = None) -> dict[str, str]:
    """The create answer (§2.3) pointing at ``upload_url``."""
    return {"id": run_id or str(uuid.uuid4()), "recordingUploadUrl": upload_url}


def run_json(status: str | None = "RUNNING", **fields: Any) -> dict[str, Any]:
    """A model run as GET returns it (§2.5), with ``fields`` (camelCase) overriding."""
    payload: dict[str, Any] = {
        "id": RUN_ID,
        "createdAt": "2026-03-26T09:30:05+00:00",
        "status": status,
        "userLabel": "hostile",
        "deleteData": False,
        "runAt": None,
        "completedAt": None,
        "errorReason": None,
        "warnings": None,
        "results": None,
        "errorCode": None,
    }
    return payload | fields


def section(**scores: float) -> dict[str, Any]:
    """One results section in range (D6), ``scores`` (camelCase names) overriding."""
    values = {
        "mentalStrain": 0.42,
        "distress": 0.33,
        "stress": 0.33,
        "exhaustion": 0.66,
        "sleepPropensity": 0.66,
        "lowSelfEsteem": 0.0,
        "uniformDistress": 0.48,
        "uniformStress": 0.39,
        "uniformExhaustion": 0.61,
        "uniformSleepPropensity": 0.58,
        "uniformLowSelfEsteem": 0.21,
    } | scores
    return {
        "startSecs": 0,
        "finishSecs": 28.6,
        "transcript": "The North Wind and the Sun had a quarrel...",
        **{name: {"value": value} for name, value in values.items()},
    }


def complete_ok(**scores: float) -> dict[str, Any]:
    return run_json(
        "COMPLETE_OK",
        runAt="2026-03-26T09:31:10+00:00",
        completedAt="2026-03-26T09:31:40+00:00",
        results={"sections": [section(**scores)]},
    )


class Rewriting:
    """A :class:`~helios_async.Transport` that sends through ``inner`` after rewriting URL
    prefixes (``{"https://api.test": "http://127.0.0.1:8123"}``): the client believes it talks
    to the names it was given, the bytes go to the loopback servers. ``urls`` lists the URLs
    as the client asked for them."""

    def __init__(self, inner: Any, prefixes: Mapping[str, str]) -> None:
        self._inner = inner
        self._prefixes = dict(prefixes)
        self.urls: list[str] = []

    async def send(self, request: Any, *, timeouts: Any) -> Any:
        self.urls.append(request.url)
        url = request.url
        for prefix, target in self._prefixes.items():
            if url.startswith(prefix):
                url = target + url[len(prefix) :]
        return await self._inner.send(attrs.evolve(request, url=url), timeouts=timeouts)

    async def aclose(self) -> None:
        await self._inner.aclose()
