"""helios_async._timers: the read timer kept per connection and moved lazily, and the
``Timeouts.response`` deadlines of the attempts in flight under one timer per length."""

from __future__ import annotations

import asyncio
import gc
import weakref

import aiohttp
import pytest

from helios_async._timers import Deadline, Deadlines, LazyReadHandler

HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n"


def connection(read_timeout: float) -> LazyReadHandler:
    """A protocol as aiohttp sets it up for one request with ``sock_read=read_timeout``."""
    protocol = LazyReadHandler(loop=asyncio.get_running_loop())
    protocol.set_response_params(read_timeout=read_timeout)
    return protocol


async def test_a_request_sent_arms_one_read_timer_and_bytes_only_move_its_deadline() -> None:
    protocol = connection(60.0)
    protocol.start_timeout()  # the request has been sent: the wait for bytes starts
    timer = protocol._read_timeout_handle
    assert timer is not None and protocol.read_due > 0
    first_due = protocol.read_due
    protocol.data_received(HEAD + b"abc")  # bytes: the same timer, a later deadline
    assert protocol._read_timeout_handle is timer and not timer.cancelled()
    assert protocol.read_due >= first_due
    protocol.data_received(b"def")  # the answer is whole: no wait in progress
    assert protocol.read_due == 0.0
    assert protocol.exception() is None


async def test_the_timer_lapses_when_no_wait_is_in_progress_and_the_next_wait_arms_one() -> None:
    protocol = connection(60.0)
    protocol.start_timeout()
    protocol.data_received(HEAD + b"abcdef")  # answered at once
    protocol._read_timer_fired()  # its timer comes due later, on an idle connection
    assert protocol._read_timeout_handle is None
    assert protocol.exception() is None
    protocol.set_response_params(read_timeout=60.0)  # the next request on the connection
    protocol.start_timeout()
    assert protocol._read_timeout_handle is not None


async def test_a_timer_firing_before_the_moved_deadline_re_arms_for_it() -> None:
    """Bytes came after the timer was armed: when it fires, the wait they started has not
    lasted ``sock_read`` yet, so it re-arms for the new deadline instead of failing."""
    protocol = connection(60.0)
    protocol.start_timeout()
    protocol.data_received(HEAD + b"a")
    protocol._read_timer_fired()
    assert protocol._read_timeout_handle is not None
    assert protocol.exception() is None


async def test_a_wait_that_lasts_the_read_timeout_fails_with_aiohttps_read_timeout() -> None:
    protocol = connection(0.01)
    protocol.start_timeout()
    protocol.data_received(HEAD + b"abc")  # then silence
    async with asyncio.timeout(5):
        while protocol.exception() is None:  # noqa: ASYNC110 (the timer sets it)
            await asyncio.sleep(0.005)
    assert isinstance(protocol.exception(), aiohttp.SocketTimeoutError)
    assert protocol._read_timeout_handle is None


async def test_a_shorter_read_limit_on_a_reused_connection_is_timed_by_its_own_deadline() -> None:
    """The connection's timer is still pending for a 30 s limit when the next request (a
    ``with_options`` view with ``read=0.5``) starts its wait: the timer is re-armed for the
    earlier deadline rather than left to fire 30 s on."""
    protocol = connection(30.0)
    protocol.connection_made(asyncio.Transport())  # a live connection, kept alive
    protocol.start_timeout()
    protocol.data_received(HEAD + b"abcdef")  # answered; the 30 s timer stays pending
    assert protocol._read_timeout_handle is not None
    protocol.set_response_params(read_timeout=0.5)
    protocol.start_timeout()
    timer = protocol._read_timeout_handle
    assert timer is not None
    assert timer.when() == pytest.approx(protocol.read_due)
    assert timer.when() <= asyncio.get_running_loop().time() + 0.5


async def test_a_connection_that_ends_cancels_its_pending_timer() -> None:
    protocol = connection(60.0)
    protocol.start_timeout()
    timer = protocol._read_timeout_handle
    assert timer is not None
    protocol.connection_lost(None)
    assert timer.cancelled() and protocol._read_timeout_handle is None


async def test_no_read_timeout_arms_no_timer() -> None:
    protocol = LazyReadHandler(loop=asyncio.get_running_loop())
    protocol.set_response_params(read_timeout=None)
    protocol.start_timeout()
    assert protocol._read_timeout_handle is None and protocol.read_due == 0.0


# -- Deadlines --------------------------------------------------------------------------------


async def attempt(deadlines: Deadlines, seconds: float, work: asyncio.Event) -> bool:
    """An attempt as the transport makes it: True if the deadline cut it."""
    deadline = deadlines.start(seconds)
    try:
        await work.wait()
    except BaseException as exc:
        if deadline.end(exc):
            return True
        raise
    deadline.end(None)
    return False


async def test_an_attempt_past_its_deadline_is_cut_and_the_task_is_not_left_cancelling() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())

    async def run() -> tuple[bool, int]:
        cut = await attempt(deadlines, 0.01, asyncio.Event())
        task = asyncio.current_task()
        assert task is not None
        return cut, task.cancelling()

    assert await asyncio.wait_for(run(), 5) == (True, 0)


async def test_attempts_that_end_in_time_are_not_cut_and_keep_no_task_alive() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    done = asyncio.Event()
    done.set()
    task = asyncio.ensure_future(attempt(deadlines, 60.0, done))
    assert await task is False
    ref = weakref.ref(task)
    del task
    await asyncio.sleep(0)  # the loop lets go of the callbacks of its end
    gc.collect()
    assert ref() is None  # its ended deadline, still queued, does not hold the task


async def test_deadlines_of_one_length_cut_only_the_attempts_still_running() -> None:
    """Three attempts under one timer; the middle one ends first, the other two are cut."""
    deadlines = Deadlines(asyncio.get_running_loop())
    slow, quick = asyncio.Event(), asyncio.Event()
    tasks = [
        asyncio.ensure_future(attempt(deadlines, 0.05, event)) for event in (slow, quick, slow)
    ]
    await asyncio.sleep(0)
    quick.set()
    assert await asyncio.wait_for(asyncio.gather(*tasks), 5) == [True, False, True]


async def test_deadlines_of_different_lengths_each_cut_their_own() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    never, later = asyncio.Event(), asyncio.Event()
    long_one = asyncio.ensure_future(attempt(deadlines, 60.0, later))
    short_one = asyncio.ensure_future(attempt(deadlines, 0.01, never))
    assert await asyncio.wait_for(short_one, 5) is True
    assert not long_one.done()
    later.set()
    assert await long_one is False


async def test_a_cancel_from_outside_an_expired_attempt_stays_a_cancellation() -> None:
    """As with ``asyncio.timeout``: a task someone else also asked to cancel is cancelled,
    not turned into a timeout."""
    deadlines = Deadlines(asyncio.get_running_loop())
    started = asyncio.Event()
    holder: list[Deadline] = []
    cut: list[bool] = []

    async def run() -> None:
        deadline = deadlines.start(60.0)
        holder.append(deadline)
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError as exc:
            cut.append(deadline.end(exc))
            raise

    task = asyncio.ensure_future(run())
    await started.wait()
    holder[0].expire()  # the deadline fires...
    task.cancel()  # ...and the caller cancels too
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cut == [False]


async def test_a_deadline_is_only_started_from_a_task() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop)
    outcome: asyncio.Future[BaseException] = loop.create_future()

    def callback() -> None:
        try:
            deadlines.start(1.0)
        except RuntimeError as exc:
            outcome.set_result(exc)

    loop.call_soon(callback)
    assert "task" in str(await outcome)


async def test_lengths_that_come_and_go_do_not_pile_up() -> None:
    """A ``Timeouts`` made per call gives each attempt a length of its own: the queues of
    lengths no attempt uses any more are dropped, those in use kept."""
    deadlines = Deadlines(asyncio.get_running_loop())
    never = asyncio.Event()
    held = asyncio.ensure_future(attempt(deadlines, 60.0, never))
    await asyncio.sleep(0)
    done = asyncio.Event()
    done.set()
    for number in range(200):
        await attempt(deadlines, 1e-4 + number * 1e-7, done)  # each of its own length
        await asyncio.sleep(0.001)  # its timer comes due, finds nothing running and lapses
    assert len(deadlines._queues) <= 40
    assert 60.0 in deadlines._queues  # the one in use stays
    held.cancel()
    with pytest.raises(asyncio.CancelledError):
        await held
