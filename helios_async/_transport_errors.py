"""What aiohttp's failures mean on the error tree, for :class:`~._transport.AiohttpTransport`.

:func:`reraise` turns what one exchange raised into a ``ConnectError``, a
``RequestTimeoutError`` naming the limit that fired, or a ``TransportError``, with any
presigned signature redacted from its text and aiohttp's frames (whose locals hold the URL
and the key's header) dropped; anything else (a cancellation, a ``RecordingError`` from the
body) is re-raised as it is, without those frames.
"""

from __future__ import annotations

import re
from typing import NoReturn

import aiohttp

from ._errors import ConnectError, HeliosError, RequestTimeoutError, TransportError
from ._protocol import ApiRequest
from ._redaction import drop_inner_frames, redact_url

# A query string inside an error's text (compiled by re on first use: errors only).
_QUERY = r"\?[^\s'\")]+"


def reraise(
    exc: BaseException, request: ApiRequest, data: object, timeout: aiohttp.ClientTimeout
) -> NoReturn:
    """Raise what aiohttp's ``exc`` means on the error tree; anything else (a RecordingError
    from the body, a cancellation...) as it is. Its frames are dropped either way.

    ``timeout`` is the exchange's aiohttp limits (its ``sock_read`` is ``Timeouts.read``).
    """
    if isinstance(exc, (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError)):
        fail(ConnectError, f"could not connect: {describe(exc)}", request, exc)
    if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError among them
        read = timeout.sock_read
        waited = f"Timeouts.read={read:g} s" if read else "the time allowed"
        fail(RequestTimeoutError, f"timed out: no response bytes within {waited}", request, exc)
    if isinstance(exc, aiohttp.ClientPayloadError):
        fail(TransportError, f"the response body was cut short: {describe(exc)}", request, exc)
    if isinstance(exc, aiohttp.ClientError):
        failure = getattr(data, "failure", None)  # an UploadWatch's
        if isinstance(failure, HeliosError):
            raise_failure(failure)  # the file or a hook failed, not the network
        fail(TransportError, f"the connection failed: {describe(exc)}", request, exc)
    drop_inner_frames(exc)
    raise exc


def fail(
    cls: type[TransportError], message: str, request: ApiRequest, exc: BaseException
) -> NoReturn:
    """Raise ``cls`` for aiohttp's ``exc``, whose frames are dropped (their locals hold the
    URL and the key's header); ``exc`` is chained only when its text holds no query string,
    so a presigned signature never shows in a traceback either."""
    drop_inner_frames(exc)
    error = cls(message, method=request.method, url=redact_url(request.url))
    if re.search(_QUERY, str(exc)):
        raise error from None
    raise error from exc


def raise_failure(failure: HeliosError) -> NoReturn:
    """Re-raise what failed while aiohttp read the body (a RecordingError, a HookError),
    from its own cause, without the aiohttp frames it was raised through."""
    failure.__traceback__ = None
    drop_inner_frames(failure)
    raise failure from failure.__cause__


def describe(exc: BaseException) -> str:
    """An aiohttp error as text, with any presigned signature in it redacted."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return re.sub(_QUERY, "?<redacted>", text)
