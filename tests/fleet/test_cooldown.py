"""The fleet-wide cool-down: a 429 seen by one worker pauses the creates of all of them."""

from __future__ import annotations

import asyncio

from helios_async import RateLimitError, RetryEvent
from helios_async.fleet._cooldown import FleetCooldown
from helios_async.fleet._docket import Engine
from helios_async.fleet._worker import cooldown_hooks


class FakeTime:
    """A Unix clock that moves only when slept on."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_429_on_one_worker_holds_the_creates_of_another_until_it_passes(
    engine: Engine,
) -> None:
    time = FakeTime()
    seen_it = FleetCooldown(engine.redis, engine.names, clock=time.clock, sleep=time.sleep)
    other = FleetCooldown(engine.redis, engine.names, clock=time.clock, sleep=time.sleep)
    assert await seen_it.publish(time.now + 6.0)
    await other.wait()
    assert time.slept == [6.0]
    assert not other.pending()


async def test_the_cool_down_only_ever_moves_later(engine: Engine) -> None:
    time = FakeTime()
    cooldown = FleetCooldown(engine.redis, engine.names, clock=time.clock, sleep=time.sleep)
    assert await cooldown.publish(time.now + 10)
    assert not await cooldown.publish(time.now + 3)
    fresh = FleetCooldown(engine.redis, engine.names, clock=time.clock, sleep=time.sleep)
    assert await fresh.read() == time.now + 10


async def test_a_worker_starting_during_a_cool_down_honours_it(engine: Engine) -> None:
    time = FakeTime()
    await FleetCooldown(engine.redis, engine.names, clock=time.clock).publish(time.now + 4)
    late = FleetCooldown(engine.redis, engine.names, clock=time.clock, sleep=time.sleep)
    async with late.listening():
        assert late.pending()


async def test_a_broadcast_reaches_a_listening_worker_without_it_reading_the_key(
    engine: Engine,
) -> None:
    listener = FleetCooldown(engine.redis, engine.names, pubsub=engine.pubsub)
    sender = FleetCooldown(engine.redis, engine.names)
    async with listener.listening():
        await asyncio.sleep(0.2)  # let the listener subscribe
        sender.note(30.0)
        for _ in range(200):  # bounded: at most about 2 s for the message to arrive
            if listener.pending():
                break
            await asyncio.sleep(0.01)
        assert listener.pending()
        await sender.settled()


async def test_the_client_hook_turns_a_retried_429_into_a_fleet_pause(engine: Engine) -> None:
    time = FakeTime()
    cooldown = FleetCooldown(engine.redis, engine.names, clock=time.clock, sleep=time.sleep)
    hooks = cooldown_hooks(cooldown)
    assert hooks.on_retry is not None
    hooks.on_retry(
        RetryEvent(
            operation="create_model_run",
            attempt=1,
            delay=6.0,
            error=RateLimitError(429, retry_after=6.0),
        )
    )
    assert cooldown.until == time.now + 6.0
    await cooldown.settled()
    assert await FleetCooldown(engine.redis, engine.names, clock=time.clock).read() == time.now + 6
