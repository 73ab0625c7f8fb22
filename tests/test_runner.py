"""helios_async._runner: the generic bounded task runner under the fan-out (issue 4):
bounded, lazy, results as they finish, nothing left running when closed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest

from helios_async._runner import run_bounded


def helios_tasks(name: str = "t") -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith(f"{name}-") and not task.done()
    ]


async def test_at_most_concurrency_tasks_run_and_results_come_as_they_finish():
    running = 0
    most = 0
    gates = {i: asyncio.Event() for i in range(6)}

    async def work(i: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await gates[i].wait()
        running -= 1
        return i

    results = run_bounded(range(6), work, concurrency=2, name="t")
    async with contextlib.aclosing(results):
        first = asyncio.ensure_future(anext(results))
        await asyncio.sleep(0)
        gates[1].set()  # the second finishes first
        assert await first == 1
        for i in (0, 2, 3, 4, 5):
            gates[i].set()
        rest = [result async for result in results]
    assert sorted(rest) == [0, 2, 3, 4, 5]
    assert most == 2


async def test_items_are_taken_lazily_only_when_a_slot_frees():
    taken: list[int] = []

    def source() -> Iterator[int]:
        for i in range(1000):
            taken.append(i)
            yield i

    async def work(i: int) -> int:
        return i

    results = run_bounded(source(), work, concurrency=3, name="t")
    async with contextlib.aclosing(results):
        assert await anext(results) in (0, 1, 2)
        assert len(taken) <= 4


async def test_an_async_source_is_read_while_results_keep_flowing():
    async def source() -> AsyncIterator[int]:
        for i in range(5):
            await asyncio.sleep(0)
            yield i

    async def work(i: int) -> int:
        return i * 10

    results = [r async for r in run_bounded(source(), work, concurrency=2, name="t")]
    assert sorted(results) == [0, 10, 20, 30, 40]


async def test_closing_cancels_the_tasks_in_flight_and_waits_for_them():
    stopped: list[int] = []

    async def work(i: int) -> int:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(i)
        return i

    results = run_bounded(range(10), work, concurrency=3, name="t")
    consumer = asyncio.ensure_future(anext(results))
    await asyncio.sleep(0)
    assert len(helios_tasks()) == 3
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    await results.aclose()
    assert sorted(stopped) == [0, 1, 2]
    assert helios_tasks() == []


async def test_a_task_s_error_is_raised_in_its_turn_and_what_work_raises_at_once():
    async def fails(i: int) -> int:
        raise ValueError(f"item {i}")

    with pytest.raises(ValueError, match="item 0"):
        async for _ in run_bounded([0], fails, concurrency=1, name="t"):
            pass

    def refuses(i: int):  # raises before any task exists
        raise TypeError("not an item")

    with pytest.raises(TypeError, match="not an item"):
        async for _ in run_bounded([0], refuses, concurrency=1, name="t"):
            pass
    assert helios_tasks() == []


async def test_results_come_in_the_order_their_tasks_ended_whatever_the_concurrency():
    """Each task reports its own end, so the runner never scans the tasks in flight: the
    results come exactly in the order the tasks ended."""
    gates = [asyncio.Event() for _ in range(50)]
    waiting = 0
    all_waiting = asyncio.Event()

    async def work(i: int) -> int:
        nonlocal waiting
        waiting += 1
        if waiting == 50:
            all_waiting.set()
        await gates[i].wait()
        return i

    order = list(range(49, -1, -1))  # the last started ends first
    results = run_bounded(range(50), work, concurrency=50, name="t")
    async with contextlib.aclosing(results):
        pending = asyncio.ensure_future(anext(results))
        await all_waiting.wait()  # all started (a few loop turns: see BURST) and waiting
        seen = []
        for i in order:
            gates[i].set()
            await asyncio.sleep(0)
        seen.append(await pending)
        seen += [result async for result in results]
    assert seen == order


async def test_a_large_concurrency_fills_up_over_several_loop_turns():
    """No more than BURST tasks are started before the event loop turns: the first task's
    first step comes after BURST starts, not after all of them; every slot still fills."""
    from helios_async import _runner

    started = 0
    seen_at_first_step: list[int] = []
    release = asyncio.Event()
    all_started = asyncio.Event()

    def source() -> Iterator[int]:
        nonlocal started
        for i in range(5 * _runner.BURST):
            started += 1
            yield i

    async def work(i: int) -> int:
        seen_at_first_step.append(started)
        if len(seen_at_first_step) == 5 * _runner.BURST:
            all_started.set()
        await release.wait()
        return i

    results = run_bounded(source(), work, concurrency=5 * _runner.BURST, name="t")
    async with contextlib.aclosing(results):
        first = asyncio.ensure_future(anext(results))
        await all_started.wait()
        release.set()
        assert await first in range(5 * _runner.BURST)
        rest = [result async for result in results]
    assert seen_at_first_step[0] == _runner.BURST
    assert len(rest) == 5 * _runner.BURST - 1
