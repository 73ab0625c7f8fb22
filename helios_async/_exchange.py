"""One exchange over aiohttp, for :class:`~._transport.AiohttpTransport`: send a request and
read its whole body, no larger than the transport's cap.

A 2xx body may hold ``max_response_bytes``, checked once against a ``Content-Length`` within
bounds, else chunk by chunk (:class:`~helios_async.ResponseTooLargeError` past it); any other
status keeps at most 64 KiB of its body for the error, cut there.
"""

from __future__ import annotations

from typing import NoReturn

import aiohttp
from yarl import URL

from ._decoding import ERROR_BODY_LIMIT
from ._errors import ResponseTooLargeError
from ._protocol import ApiRequest, ApiResponse
from ._redaction import redact_url
from ._transport_errors import reraise

_READ_CHUNK = 64 * 1024


async def fetch(
    session: aiohttp.ClientSession,
    request: ApiRequest,
    url: URL,
    data: object,
    timeout: aiohttp.ClientTimeout,
    max_response_bytes: int,
) -> ApiResponse:
    """Send ``request`` to ``url`` (``data`` its body) and read the answer, bounded.

    Raises what aiohttp raises, and ResponseTooLargeError; the caller maps the rest
    (:func:`exchange` does, with the frames below it dropped).
    """
    async with session.request(
        request.method,
        url,
        headers=request.headers,
        data=data,
        timeout=timeout,
        allow_redirects=False,
    ) as response:
        status = response.status
        declared = response.content_length
        limit = max_response_bytes if 200 <= status < 300 else ERROR_BODY_LIMIT
        if declared is not None and declared <= limit:  # announced, and within bounds
            payload = await response.read()
        else:
            payload = await _read_capped(response, request, max_response_bytes)
        return ApiResponse(status=status, headers=response.headers, body=payload)


async def exchange(
    session: aiohttp.ClientSession,
    request: ApiRequest,
    data: object,
    timeout: aiohttp.ClientTimeout,
    max_response_bytes: int,
) -> ApiResponse:
    """:func:`fetch` to the request's URL, verbatim (``encoded=True``: a presigned signature
    is never re-quoted), with what aiohttp raised mapped onto the error tree (``reraise``)
    and the frames below this one dropped: their locals hold the URL and the key's header.
    No local here holds the parsed URL either, for a traceback's locals to show."""
    try:
        return await fetch(
            session, request, URL(request.url, encoded=True), data, timeout, max_response_bytes
        )
    except BaseException as exc:
        reraise(exc, request, data, timeout)


async def _read_capped(
    response: aiohttp.ClientResponse, request: ApiRequest, max_response_bytes: int
) -> bytes:
    """The body of an answer that did not announce a length within bounds (``fetch`` reads
    one that did at once): up to ``max_response_bytes`` for a 2xx and 64 KiB for any other
    status (kept on the error, cut there)."""
    ok = 200 <= response.status < 300
    limit = max_response_bytes if ok else ERROR_BODY_LIMIT
    declared = response.content_length
    if ok and declared is not None:
        _too_large(response, request, f"announces {declared} bytes", max_response_bytes)
    parts: list[bytes] = []
    total = 0
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        total += len(chunk)
        if total > limit:
            if ok:
                _too_large(response, request, "is longer", max_response_bytes)
            parts.append(chunk[: len(chunk) - (total - limit)])
            response.close()  # the rest is never read: drop the connection
            break
        parts.append(chunk)
    return b"".join(parts)


def _too_large(
    response: aiohttp.ClientResponse, request: ApiRequest, how: str, max_response_bytes: int
) -> NoReturn:
    response.close()
    raise ResponseTooLargeError(
        f"the response body {how} than max_response_bytes={max_response_bytes}",
        method=request.method,
        url=redact_url(request.url),
        limit=max_response_bytes,
    )
