"""A generic bounded task runner: at most ``concurrency`` tasks, results as they finish.

Knows nothing of wellness checks: ``_fanout`` builds its iterator on :func:`run_bounded`.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
)
from typing import Any, TypeVar

X = TypeVar("X")
R = TypeVar("R")

_END = object()

BURST = 16
"""Tasks started in one go before the runner lets the event loop turn: 1,000 checks started
at once would otherwise all take their first steps (a recording read, a request built, a
connection opened) in one loop iteration, hundreds of milliseconds in which nothing else
runs. A loop turn costs microseconds; no wall-clock pause is added."""


async def run_bounded(
    items: Iterable[X] | AsyncIterable[X],
    work: Callable[[X], Coroutine[Any, Any, R]],
    *,
    concurrency: int,
    name: str = "helios-task",
) -> AsyncGenerator[R, None]:
    """Keep up to ``concurrency`` tasks of ``work(item)`` running; yield each result as its
    task ends.

    A slot is held from taking an item until its result is yielded, so at most
    ``concurrency`` items are ever taken and not yet handed back, and no more tasks exist;
    the slot is refilled when the consumer asks for the next result. An async source is read
    in a task of its own (``helios-next-job``), so results keep flowing while it waits.
    ``work`` is called synchronously when an item is taken (what it raises then propagates);
    a task's exception is re-raised when its turn to be yielded comes. Closing the generator
    cancels the tasks in flight and waits until each has stopped. Tasks are named
    ``{name}-{n}``. Each task reports its own end (a done-callback), so the runner does O(1)
    work per task whatever ``concurrency`` is, and yields results in the order tasks ended.
    At most :data:`BURST` tasks are started per turn of the event loop, so that a large
    ``concurrency`` fills up over a few turns rather than in one long one.
    """
    sync_jobs: Iterator[X] | None = None
    async_jobs: AsyncIterator[X] | None = None
    started = 0
    if isinstance(items, AsyncIterable):
        async_jobs = aiter(items)
    else:
        sync_jobs = iter(items)
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[R]] = set()
    ready: deque[asyncio.Task[R]] = deque()  # ended, in the order they ended
    pull: asyncio.Task[object] | None = None
    exhausted = False
    wakeup: asyncio.Future[None] | None = None
    # ``on_done`` reads no context variable: one empty context serves every task's callback,
    # where ``add_done_callback`` would otherwise copy the current one per task.
    quiet = contextvars.Context()

    def wake() -> None:
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def on_done(task: asyncio.Task[R]) -> None:
        # Each task reports itself as it ends: O(1) per job, whatever the concurrency.
        if task in running:
            running.discard(task)
            ready.append(task)
            wake()

    def start(item: Any) -> None:
        nonlocal started
        coroutine = work(item)
        started += 1
        task = asyncio.create_task(coroutine, name=f"{name}-{started}")
        running.add(task)
        task.add_done_callback(on_done, context=quiet)

    try:
        while True:
            fresh = 0  # started in this turn of the loop
            while (
                not exhausted
                and pull is None
                and fresh < BURST
                and len(running) + len(ready) < concurrency
            ):
                if async_jobs is not None:
                    pull = asyncio.create_task(_next_job(async_jobs), name="helios-next-job")
                    pull.add_done_callback(lambda _task: wake())
                    break
                assert sync_jobs is not None
                job = next(sync_jobs, _END)
                if job is _END:
                    exhausted = True
                else:
                    start(job)
                    fresh += 1
            if ready:
                yield ready.popleft().result()
                continue
            if pull is not None and pull.done():
                job, pull = pull.result(), None
                if job is _END:
                    exhausted = True
                else:
                    start(job)
                continue
            if not running and pull is None:
                return
            if fresh == BURST:  # maybe more slots to fill: let those just started run first
                await asyncio.sleep(0)
                continue
            wakeup = loop.create_future()
            try:
                await wakeup
            finally:
                wakeup = None
    finally:
        leftovers: list[asyncio.Task[Any]] = [*running, *([pull] if pull is not None else [])]
        try:
            await _cancel_and_wait(leftovers)
        finally:
            for task in [*leftovers, *ready]:
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved, so asyncio never logs it as lost


async def _next_job(jobs: AsyncIterator[X]) -> object:
    try:
        return await anext(jobs)
    except StopAsyncIteration:
        return _END


async def _cancel_and_wait(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until every one has ended, even if cancelled meanwhile
    (then re-raise that cancellation), so no task outlives the iterator."""
    for task in tasks:
        task.cancel()
    pending = [task for task in tasks if not task.done()]
    interrupted: asyncio.CancelledError | None = None
    while pending:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError as exc:
            interrupted = exc
        pending = [task for task in pending if not task.done()]
    if interrupted is not None:
        raise interrupted
