"""One upload attempt, under a clock whose deadline moves with the phase the body is in.

``Timeouts`` gives an upload three limits that follow its size: sending, the answer after the
last byte, and the attempt in all. :func:`upload` runs the attempt under one asyncio timeout;
:class:`UploadWatch` is the body aiohttp reads, and moves that timeout's deadline as the
first chunk is asked for and as the last one has gone.
"""

from __future__ import annotations

import asyncio

import aiohttp

from ._config import Timeouts
from ._errors import HeliosError, RequestTimeoutError
from ._exchange import exchange
from ._protocol import ApiRequest, ApiResponse
from ._recording import FileChunks
from ._redaction import redact_url
from ._transport_errors import raise_failure


async def upload(
    session: aiohttp.ClientSession,
    request: ApiRequest,
    chunks: FileChunks,
    size: int,
    timeouts: Timeouts,
    timeout: aiohttp.ClientTimeout,
    max_response_bytes: int,
) -> ApiResponse:
    """The presigned PUT of ``size`` bytes read from ``chunks``, under limits that follow
    its size (see ``Timeouts``); ``timeout`` is aiohttp's part of them.

    Raises:
        RequestTimeoutError: a limit fired; ``limit`` is ``"sending"``, ``"answer"`` or
            ``"total"``.
        RecordingError, HookError: the file, or the progress hook, failed while being sent.
        TransportError: as :func:`~._exchange.exchange`.
    """
    sending, total = timeouts.upload_limits(size)
    loop = asyncio.get_running_loop()
    scope = asyncio.timeout(total)
    watch = UploadWatch(chunks, scope, loop, sending=sending, answer=timeouts.read)
    try:
        async with scope:
            watch.start(loop.time() + total)
            return await exchange(session, request, watch, timeout, max_response_bytes)
    except TimeoutError:
        if not scope.expired():
            raise
        limit, seconds = watch.fired
        what = {
            "sending": f"the body ({size} bytes) was not sent within {seconds:g} s "
            f"(Timeouts: max(read, size / upload_min_rate))",
            "answer": f"no answer within Timeouts.read={seconds:g} s after the last byte",
            "total": f"the upload attempt did not end within {seconds:g} s in all",
        }[limit]
        raise RequestTimeoutError(
            what, method=request.method, url=redact_url(request.url), limit=limit
        ) from None
    except HeliosError:
        raise
    except Exception:
        if watch.failure is not None:  # the file or a hook failed, not the network
            raise_failure(watch.failure)
        raise


class UploadWatch:
    """The upload body as aiohttp reads it, moving the attempt's deadline with its phase:
    ``sending`` seconds from the first chunk, ``answer`` seconds after the last, never past
    the total. It also keeps what failed while reading the file (a RecordingError, a
    HookError), which aiohttp would otherwise report as a broken connection."""

    def __init__(
        self,
        chunks: FileChunks,
        scope: asyncio.Timeout,
        loop: asyncio.AbstractEventLoop,
        *,
        sending: float,
        answer: float,
    ) -> None:
        self._chunks = chunks
        self._scope = scope
        self._loop = loop
        self._sending = sending
        self._answer = answer
        self._total_at = 0.0
        self._total = 0.0
        self._phase = "connecting"
        self.fired: tuple[str, float] = ("total", 0.0)
        self.failure: HeliosError | None = None

    def start(self, total_at: float) -> None:
        self._total_at = total_at
        self._total = total_at - self._loop.time()
        self.fired = ("total", self._total)

    def _enter(self, phase: str, seconds: float) -> None:
        self._phase = phase
        when = self._loop.time() + seconds
        if when < self._total_at:
            self._scope.reschedule(when)
            self.fired = (phase, seconds)
        else:
            self._scope.reschedule(self._total_at)
            self.fired = ("total", self._total)

    def __aiter__(self) -> UploadWatch:
        return self

    async def __anext__(self) -> bytes:
        if self._phase == "connecting":
            self._enter("sending", self._sending)
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            self._enter("answer", self._answer)
            raise
        except HeliosError as exc:
            self.failure = exc
            raise
