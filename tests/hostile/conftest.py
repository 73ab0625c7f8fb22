"""Fixtures of the hostile tier: fast policies with recorded sleeps, a client on any root,
recordings of any size, and a watch on what the event loop was told."""

from __future__ import annotations

import asyncio
import datetime as dt
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from helios_async import (
    BirthSex,
    HeliosClient,
    PollPolicy,
    RetryPolicy,
    Timeouts,
    User,
)

API_KEY = "hk-hostile-Sup3rS3cretKey-0123456789"
USER = User(user_label="hostile", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.FEMALE)


class Sleeps:
    """An injected sleep: records each wait (seconds) and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(sleeps: Sleeps) -> Callable[..., HeliosClient]:
    """``make_client(base_url, **overrides)``: a client with fast, never-really-sleeping
    policies (retries after recorded sleeps, polls every few ms); ``api_key=`` overrides
    the key too."""

    def make(base_url: str, **overrides: Any) -> HeliosClient:
        options: dict[str, Any] = {
            "base_url": base_url,
            "retry": RetryPolicy(attempts=3, backoff_initial=0.25, backoff_max=1.0, sleep=sleeps),
            "poll": PollPolicy(first_interval=0.005, interval=0.01, timeout=5.0),
            "timeouts": Timeouts(connect=2.0, read=2.0, response=5.0, pool=2.0),
        } | overrides
        return HeliosClient(options.pop("api_key", API_KEY), **options)

    return make


def write_wav(path: Path, size: int) -> Path:
    """A valid 8 kHz 8-bit mono WAV of about ``size`` bytes (silence)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * size)
    return path


@pytest.fixture
def big_wav(tmp_path: Path) -> Path:
    """8 MiB of WAV: more than loopback socket buffers hold, so its upload really blocks
    when the server stops reading (uploaded with check_duration=False)."""
    return write_wav(tmp_path / "big.wav", 8 * 1024 * 1024)


@pytest.fixture
async def loop_reports() -> AsyncIterator[list[dict[str, Any]]]:
    """What the event loop's exception handler was told (unclosed sessions, lost task
    exceptions): tests assert it stays empty."""
    loop = asyncio.get_running_loop()
    reports: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    yield reports
    loop.set_exception_handler(previous)
