"""Fixtures for the sandbox tests: a movable clock, a running Sandbox and raw HTTP helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import recordings
from sandbox_helpers import Api, FakeClock

from helios_async.testing import Sandbox


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sandbox(clock: FakeClock) -> AsyncIterator[Sandbox]:
    """A running sandbox on the fake clock, no processing delay."""
    async with Sandbox(clock=clock) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession, sandbox: Sandbox) -> Api:
    return Api(http, sandbox)


@pytest.fixture
def audio() -> Path:
    """The shipped test recordings, ``tests/data/audio`` (see its README and recordings.py)."""
    return recordings.audio_dir()
