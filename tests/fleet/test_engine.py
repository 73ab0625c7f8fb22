"""The fleet's engine, Docket, as the fleet relies on it: one task per key while queued,
retries of a handler that raised, and the backlog count."""

from __future__ import annotations

import datetime as dt
import inspect

import pytest

from helios_async.fleet import _docket
from helios_async.fleet._docket import Engine


async def test_a_key_is_queued_once_until_its_task_has_run(engine: Engine) -> None:
    seen: list[str] = []

    async def handler(payload: str) -> None:
        seen.append(payload)

    assert await engine.enqueue("k", "first")
    assert not await engine.enqueue("k", "second")  # still queued: left alone
    assert await engine.backlog() == 1
    await engine.work(handler, concurrency=2, redelivery_timeout=2, until_finished=True)
    assert seen == ["first"] and await engine.backlog() == 0
    # Once run, the key is free again: the batch's state, not the engine, skips done jobs.
    assert await engine.enqueue("k", "third")


async def test_a_handler_that_raises_is_tried_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    retry = inspect.signature(_docket.helios_fleet_check).parameters["retry"].default
    monkeypatch.setattr(retry, "delay", dt.timedelta(0))
    calls: list[str] = []

    async def flaky(payload: str) -> None:
        calls.append(payload)
        if len(calls) < 3:
            raise ConnectionError("Redis went away for a moment")

    await engine.enqueue("k", "job")
    await engine.work(flaky, concurrency=1, redelivery_timeout=2, until_finished=True)
    assert calls == ["job", "job", "job"]


async def test_fleet_wide_limits_still_run_every_job(engine: Engine) -> None:
    seen: list[str] = []

    async def handler(payload: str) -> None:
        seen.append(payload)

    for number in range(5):
        await engine.enqueue(f"k{number}", f"p{number}")
    await engine.work(
        handler,
        concurrency=5,
        redelivery_timeout=2,
        creates_per_minute=100,
        max_in_flight=2,
        until_finished=True,
    )
    assert sorted(seen) == [f"p{number}" for number in range(5)]
