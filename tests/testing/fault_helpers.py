"""Helpers for the fault-injection tests: raw HTTP exchanges that show exactly what arrived.

An aiohttp client turns a cut-short answer into one exception; these helpers keep the bytes
that did arrive and say how the connection ended (clean EOF or a TCP reset), so a test can
tell a :class:`~helios_async.testing.Truncate` from a
:class:`~helios_async.testing.ResetMidBody`.
"""

from __future__ import annotations

import asyncio
import json
import typing

import attrs
import yarl
from sandbox_helpers import MINIMAL_BODY

from helios_async.testing import Sandbox

Ending = typing.Literal["eof", "reset"]


@attrs.frozen
class RawReply:
    """What came back on one connection: the parsed head (None if no bytes arrived), the
    body bytes as received, and whether the server ended with a FIN or an RST."""

    status: int | None
    headers: dict[str, str]  # lower-cased names
    body: bytes
    ending: Ending

    @property
    def declared_length(self) -> int | None:
        value = self.headers.get("content-length")
        return None if value is None else int(value)


class _Collect(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.lost: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


async def raw_exchange(base_url: str, request: bytes, *, timeout: float = 5.0) -> RawReply:
    """Send ``request`` (complete, with ``Connection: close``) and collect the reply."""
    url = yarl.URL(base_url)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(_Collect, url.host, url.port)
    try:
        transport.write(request)
        lost = await asyncio.wait_for(protocol.lost, timeout)
    finally:
        transport.close()
    data = bytes(protocol.data)
    ending: Ending = "reset" if isinstance(lost, ConnectionResetError) else "eof"
    if not data:
        return RawReply(status=None, headers={}, body=b"", ending=ending)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawReply(status=int(lines[0].split()[1]), headers=headers, body=body, ending=ending)


def http_request(
    method: str, target: str, *, key: str | None, body: bytes = b"", **headers: str
) -> bytes:
    """A complete HTTP/1.1 request with ``Connection: close`` and an exact Content-Length."""
    lines = [f"{method} {target} HTTP/1.1", "Host: sandbox", "Connection: close"]
    if key is not None:
        lines.append(f"x-api-key: {key}")
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def create_request(sandbox: Sandbox, label: str) -> bytes:
    """The documented minimal E2 create (helios-api.md §7) for ``label``, raw."""
    body = {**MINIMAL_BODY, "user": {**MINIMAL_BODY["user"], "userLabel": label}}
    return http_request(
        "POST",
        "/v1/models/mental-wellness",
        key=sandbox.api_key,
        body=json.dumps(body).encode(),
        Content_Type="application/json",
    )


def get_request(sandbox: Sandbox, run_id: str) -> bytes:
    return http_request("GET", f"/v1/models/mental-wellness/{run_id}", key=sandbox.api_key)


def upload_request(url: str, data: bytes) -> tuple[str, bytes]:
    """(storage base URL, raw PUT of ``data`` to the presigned ``url`` exactly as given)."""
    parsed = yarl.URL(url, encoded=True)
    target = parsed.raw_path_qs
    base = f"{parsed.scheme}://{parsed.raw_host}:{parsed.port}"
    return base, http_request("PUT", target, key=None, body=data, Content_Type="audio/ogg")
