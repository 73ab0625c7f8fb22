"""The clock of one upload attempt: its deadline moves with the phase the body is in.

``Timeouts`` gives an upload three limits that follow its size: sending, the answer after the
last byte, and the attempt in all. The transport runs the attempt under one asyncio timeout;
:class:`UploadWatch` is the body aiohttp reads, and moves that timeout's deadline as the
first chunk is asked for and as the last one has gone.
"""

from __future__ import annotations

import asyncio

from ._errors import HeliosError
from ._recording import FileChunks


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
