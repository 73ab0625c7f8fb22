"""The one coroutine that does HTTP I/O, and how aiohttp's failures map onto the error tree."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterable, Mapping

import aiohttp
from yarl import URL

from ._errors import ConnectError, RequestTimeoutError, TransportError
from ._protocol import ApiResponse, redact_url

logger = logging.getLogger("helios_async")


async def send(
    session: aiohttp.ClientSession,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | AsyncIterable[bytes] | None,
    timeout: aiohttp.ClientTimeout,
    attempt: int = 1,
) -> ApiResponse:
    """Send one request and read the whole response.

    The URL is sent exactly as given (``encoded=True``: never re-quoted, D14) and redirects are
    not followed, so the key can never travel to another host.

    Raises:
        ConnectError: the connection could not be opened (the server never saw the request).
        RequestTimeoutError: no response, or no body bytes, within the timeout.
        TransportError: the connection broke, or the body was cut short.
    """
    shown = redact_url(url)
    started = time.perf_counter()
    try:
        async with session.request(
            method,
            URL(url, encoded=True),
            headers=headers,
            data=body,
            timeout=timeout,
            allow_redirects=False,
        ) as response:
            payload = await response.read()
            result = ApiResponse(status=response.status, headers=response.headers, body=payload)
    except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
        raise ConnectError(
            f"could not connect: {_describe(exc)}", method=method, url=shown
        ) from exc
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise RequestTimeoutError(
            "timed out waiting for the response", method=method, url=shown
        ) from exc
    except aiohttp.ClientPayloadError as exc:
        raise TransportError(
            f"the response body was cut short: {_describe(exc)}", method=method, url=shown
        ) from exc
    except aiohttp.ClientError as exc:
        raise TransportError(
            f"the connection failed: {_describe(exc)}", method=method, url=shown
        ) from exc
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s -> %d in %.3f s (attempt %d)",
            method,
            shown,
            result.status,
            time.perf_counter() - started,
            attempt,
        )
    return result


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
