"""Fixtures of the fleet's tests: a real Redis (``HELIOS_TEST_REDIS_URL``), Docket's
in-memory backend, unique fleet names, and worker subprocesses.

Tests that need a real Redis skip only when ``HELIOS_TEST_REDIS_URL`` is unset, and fail
instead when ``CI=true`` (``.ci/run`` starts a ``redis-server`` and sets it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helios_async.fleet._docket import Engine
from helios_async.fleet._names import FleetNames

ENV_REDIS = "HELIOS_TEST_REDIS_URL"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_url() -> str:
    """The URL of the real Redis the tests may use (a database of their own)."""
    url = os.environ.get(ENV_REDIS)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{ENV_REDIS} is unset under CI: .ci/run must start redis-server")
        pytest.skip(f"{ENV_REDIS} is unset: no Redis to test the fleet against")
    return url


@pytest.fixture
def memory_url() -> str:
    """A Docket ``memory://`` URL of this test alone."""
    return f"memory://{uuid.uuid4().hex}"


@pytest.fixture
def fleet_name() -> str:
    """A fleet name no other test uses, so tests sharing one Redis never meet."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def clean_redis(redis_url: str, fleet_name: str) -> AsyncIterator[str]:
    """``redis_url``, with every key of ``fleet_name`` (and its journals) deleted after."""
    yield redis_url
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    try:
        for pattern in (f"helios-fleet:{fleet_name}*", f"helios:journal:{{{fleet_name}:*"):
            keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()


class Workers:
    """Fleet worker subprocesses (``python -m helios_async fleet worker``), each logging to
    a file; :meth:`stop_all` drains the live ones with SIGTERM and waits for them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, *args: str, api_key: str) -> asyncio.subprocess.Process:
        log = (self.folder / f"worker-{len(self.processes)}.log").open("wb")
        env = {**os.environ, "THYMIA_API_KEY": api_key, "PYTHONUNBUFFERED": "1"}
        with log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "helios_async",
                "fleet",
                "worker",
                *args,
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def log(self, index: int) -> str:
        return (self.folder / f"worker-{index}.log").read_text(errors="replace")

    async def stop_all(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[Workers]:
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        await started.stop_all()


@pytest.fixture(params=["memory", "redis"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """Docket's in-memory backend, then the real Redis."""
    if request.param == "memory":
        return f"memory://{uuid.uuid4().hex}"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def engine(backend_url: str, fleet_name: str) -> AsyncIterator[Engine]:
    """The fleet's engine on ``backend_url``; on Redis, the fleet's keys are deleted after."""
    async with Engine(backend_url, FleetNames(fleet_name)) as opened:
        try:
            yield opened
        finally:
            if not backend_url.startswith("memory://"):
                await delete_fleet(opened, fleet_name)


async def delete_fleet(engine: Engine, fleet_name: str) -> None:
    async with engine.redis() as redis:
        for pattern in (f"helios-fleet:{fleet_name}*", f"helios:journal:{{{fleet_name}:*"):
            keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
            if keys:
                await redis.delete(*keys)
