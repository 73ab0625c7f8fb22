"""helios_async._pool: the pool's slot counter (first come, first served; a cancelled or
closed wait loses no slot) and the connector that keeps its sockets within the limit."""

from __future__ import annotations

import asyncio

import pytest

from helios_async import ClientClosedError
from helios_async._pool import BoundedConnector, Slots
from helios_async._timers import LAZY_READS, LazyReadHandler


def take(slots: Slots) -> bool:
    """Take a free slot as the transport does, without awaiting; False when none is free."""
    if slots.free:
        slots.free -= 1
        return True
    return False


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_free_slots_are_taken_without_a_wait_up_to_the_limit() -> None:
    slots = Slots(2)
    assert take(slots) and take(slots)
    assert not take(slots)
    slots.release()
    assert slots.free == 1 and slots.waiting == 0


async def test_waiters_get_released_slots_in_the_order_they_came() -> None:
    slots = Slots(1)
    assert take(slots)
    served: list[int] = []

    async def waiter(number: int) -> None:
        await slots.wait()
        served.append(number)

    tasks = [asyncio.ensure_future(waiter(number)) for number in range(3)]
    await settle()
    assert slots.waiting == 3
    for expected in ([0], [0, 1], [0, 1, 2]):
        slots.release()
        await settle()
        assert served == expected
    await asyncio.gather(*tasks)
    assert slots.free == 0  # the last waiter still holds its slot


async def test_a_released_slot_goes_to_the_waiter_not_to_a_newcomer() -> None:
    """While someone waits, a release hands the slot over: ``free`` stays 0, so a request
    arriving meanwhile queues behind instead of overtaking."""
    slots = Slots(1)
    assert take(slots)
    waiting = asyncio.ensure_future(slots.wait())
    await settle()
    slots.release()
    assert slots.free == 0
    assert not take(slots)  # the newcomer must wait its turn
    await waiting
    slots.release()
    assert take(slots)


async def test_a_cancelled_wait_leaves_the_queue_and_the_next_waiter_is_served() -> None:
    slots = Slots(1)
    assert take(slots)
    first = asyncio.ensure_future(slots.wait())
    second = asyncio.ensure_future(slots.wait())
    await settle()
    first.cancel()
    await settle()
    assert first.cancelled() and slots.waiting == 1
    slots.release()
    await second
    assert slots.free == 0


async def test_a_wait_cancelled_as_its_slot_was_handed_over_passes_the_slot_on() -> None:
    """The slot given to a waiter cancelled before it could run is not lost: the next waiter
    gets it, or it returns to ``free``."""
    slots = Slots(1)
    assert take(slots)
    first = asyncio.ensure_future(slots.wait())
    second = asyncio.ensure_future(slots.wait())
    await settle()
    slots.release()  # handed to the first...
    first.cancel()  # ...which is cancelled before it resumes
    await settle()
    assert first.cancelled()
    await second  # the second got it
    slots.release()
    assert slots.free == 1


async def test_a_timed_out_wait_gives_up_its_turn() -> None:
    slots = Slots(1)
    assert take(slots)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await slots.wait()
    assert slots.waiting == 0
    slots.release()
    assert slots.free == 1


async def test_a_wait_closed_from_outside_raises_what_was_thrown_in_and_gives_up_its_turn() -> None:
    """A waiting coroutine closed (``GeneratorExit`` thrown in, its future still pending)
    raises that, not ``InvalidStateError`` from asking a pending future for its exception;
    its turn is gone and the next release goes to ``free``."""
    slots = Slots(1)
    assert take(slots)
    wait = slots.wait()
    wait.send(None)  # suspended on its future, queued
    assert slots.waiting == 1
    with pytest.raises(GeneratorExit):
        wait.throw(GeneratorExit)
    assert slots.waiting == 0
    slots.release()
    assert slots.free == 1


async def test_closing_fails_every_wait_with_its_own_error_and_loses_no_slot() -> None:
    slots = Slots(1)
    assert take(slots)
    waits = [asyncio.ensure_future(slots.wait()) for _ in range(2)]
    await settle()
    slots.close(lambda: ClientClosedError("closed"))
    errors = await asyncio.gather(*waits, return_exceptions=True)
    assert all(isinstance(error, ClientClosedError) for error in errors)
    assert errors[0] is not errors[1]
    assert slots.waiting == 0
    slots.release()  # the holder finishes after the close
    assert slots.free == 1


async def test_the_connector_makes_its_connections_with_the_lazy_read_timer() -> None:
    """The protocol internals LazyReadHandler relies on exist in the aiohttp installed (as
    the package's floor requires), so the client's own connections use it."""
    assert LAZY_READS
    connector = BoundedConnector(limit=2)
    try:
        assert isinstance(connector._factory(), LazyReadHandler)
    finally:
        await connector.close()
