"""``cli/_signals``: SIGINT and SIGTERM routed to the command's policy, handlers restored."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading

import pytest

from helios_async.cli._args import EXIT_INTERRUPTED, EXIT_TERMINATED
from helios_async.cli._signals import (
    CancelOnSignal,
    DrainOnSignal,
    catching_signals,
    exit_status,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


async def test_both_signals_reach_the_callback_by_name_and_the_old_handlers_come_back() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    seen: list[str] = []
    with catching_signals(seen.append) as installed:
        assert installed
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        async with asyncio.timeout(10):
            while len(seen) < 2:  # noqa: ASYNC110 (signals arrive through the loop)
                await asyncio.sleep(0.01)
    assert sorted(seen) == ["Ctrl-C", "SIGTERM"]
    assert {sig: signal.getsignal(sig) for sig in before} == before


async def test_outside_the_main_thread_nothing_is_installed() -> None:
    results: list[bool] = []

    def in_thread() -> None:
        async def probe() -> None:
            with catching_signals(lambda _name: None) as installed:
                results.append(installed)

        asyncio.run(probe())

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(10)
    assert results == [False]


async def test_cancel_on_signal_cancels_once_and_remembers_the_first() -> None:
    task = asyncio.create_task(asyncio.sleep(10))
    stop = CancelOnSignal(task)
    stop("SIGTERM")
    stop("Ctrl-C")
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stop.received == "SIGTERM"
    assert exit_status(stop.received) == EXIT_TERMINATED
    assert exit_status("Ctrl-C") == exit_status(None) == EXIT_INTERRUPTED


async def test_drain_on_signal_drains_on_the_first_and_cancels_on_the_second() -> None:
    task = asyncio.create_task(asyncio.sleep(10))
    notes: list[str] = []
    stop = DrainOnSignal(task)
    stop.signalled("SIGTERM", notes.append)
    assert stop.draining and stop.first == "SIGTERM" and not task.cancelled()
    assert notes and "no new rows" in notes[0]
    stop.signalled("Ctrl-C", notes.append)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stop.reason == "Ctrl-C" and len(notes) == 1
