"""The timers of the aiohttp transport's limits, at most one pending per connection and one
per ``Timeouts.response`` length, rather than one or two per request.

An asyncio timer costs an event-loop ``TimerHandle`` made, pushed on the loop's heap, and
cancelled, about as much CPU as the client spends on decoding an answer; aiohttp's read timer
makes one per request and another per chunk received. Both timers here are moved lazily: a
deadline that moves later (bytes arrived, a new request started) is only noted, and a timer
that finds its deadline moved when it fires re-arms itself for the new one. Each limit still
fires at its exact deadline.

- :class:`LazyReadHandler` is aiohttp's connection protocol with ``ClientTimeout.sock_read``
  (``Timeouts.read``: each wait for response bytes) kept that way, for the transport's own
  session (:class:`~._pool.BoundedConnector` makes its connections with it).
- :class:`Deadlines` bounds each API call attempt by ``Timeouts.response``, from a free
  connection to the answer's last byte, as ``asyncio.timeout`` would: the task is cancelled
  at the deadline and the attempt reports it (:meth:`Deadline.end`).
"""

from __future__ import annotations

import asyncio
from collections import deque

from aiohttp.client_proto import ResponseHandler

__all__ = ["LAZY_READS", "Deadline", "Deadlines", "LazyReadHandler"]

# The protocol internals LazyReadHandler replaces, calls or reads (the attributes its
# __init__ sets); if an aiohttp release lacks one, the connector keeps aiohttp's own protocol
# (a timer per chunk: as correct, if dearer).
LAZY_READS = all(
    callable(getattr(ResponseHandler, name, None))
    for name in ("_reschedule_timeout", "_drop_timeout", "_on_read_timeout", "start_timeout")
) and {"_read_timeout", "_read_timeout_handle", "_connection_lost_called"} <= set(
    ResponseHandler.__init__.__code__.co_names
)


class LazyReadHandler(ResponseHandler):
    """aiohttp's ``ResponseHandler`` whose read timer is moved lazily.

    aiohttp restarts the read timer (``_reschedule_timeout``) when the request has been sent
    and on every chunk that arrives, and stops it (``_drop_timeout``) when the answer is whole,
    reading pauses or the connection ends. Here a restart only notes the new deadline
    (``read_due``, loop time), arming a timer if none is pending; a stop clears it. The timer,
    when it fires, raises aiohttp's read timeout if the deadline is due, re-arms itself if it
    moved, and lapses if no wait is in progress: a kept-alive connection serving request
    after request makes about one timer per ``sock_read`` seconds, not two per request.
    """

    read_due = 0.0
    """Loop time by which the next response bytes must arrive; 0.0: no wait in progress."""

    def _reschedule_timeout(self) -> None:
        timeout = self._read_timeout
        if not timeout:
            self.read_due = 0.0
            return
        due = self.read_due = self._loop.time() + timeout
        handle = self._read_timeout_handle
        if handle is not None and handle.when() > due:
            # A shorter read limit than the pending timer's (a with_options view on the
            # same connection): the pending timer would fire late, so time this one afresh.
            handle.cancel()
            handle = None
        if handle is None:
            self._read_timeout_handle = self._loop.call_at(due, self._read_timer_fired)

    def _drop_timeout(self) -> None:
        self.read_due = 0.0
        handle = self._read_timeout_handle
        if handle is not None and (self.transport is None or self._connection_lost_called):
            handle.cancel()  # the connection is over: nothing more to time
            self._read_timeout_handle = None

    def _read_timer_fired(self) -> None:
        self._read_timeout_handle = None
        due = self.read_due
        if not due:
            return  # no wait in progress: the next one arms a timer
        if due > self._loop.time():  # bytes came meanwhile: time the wait they started
            self._read_timeout_handle = self._loop.call_at(due, self._read_timer_fired)
            return
        self._on_read_timeout()


_RUNNING, _DONE, _EXPIRED = 0, 1, 2
_KEPT_LENGTHS = 32  # queues kept for lengths with no attempt in flight


class Deadline:
    """The ``Timeouts.response`` deadline of one attempt, from :meth:`Deadlines.start`."""

    __slots__ = ("_cancelling", "_task", "state", "when")

    def __init__(self, when: float, task: asyncio.Task[object]) -> None:
        self.when = when
        """Loop time at which the attempt is cut."""
        self.state = _RUNNING
        """Running, done (ended in time) or expired (the deadline cancelled the task)."""
        self._task: asyncio.Task[object] | None = task
        self._cancelling = task.cancelling()

    def expire(self) -> None:
        """The deadline is due: cancel the attempt's task (it reports the cut in :meth:`end`)."""
        self.state = _EXPIRED
        assert self._task is not None
        self._task.cancel()

    def end(self, exc: BaseException | None) -> bool:
        """The attempt is over, with ``exc`` raised (None: it returned). Returns whether the
        deadline cut it: ``exc`` is the cancellation :meth:`expire` caused and nobody else
        asked the task to cancel. As ``asyncio.timeout``'s exit does."""
        task, self._task = self._task, None
        if self.state != _EXPIRED:
            self.state = _DONE
            return False
        assert task is not None
        return task.uncancel() <= self._cancelling and isinstance(exc, asyncio.CancelledError)


class Deadlines:
    """The ``Timeouts.response`` deadlines of a transport's attempts in flight.

    Attempts of one length end in the order they started, so each length keeps its
    deadlines in a queue, in order, under one timer armed for the earliest running one.
    Ended deadlines leave the queue from its front as others start or the timer fires:
    behind a slow attempt, at most the attempts started within ``response`` seconds wait
    there, each a few dozen bytes. The queue of a length no attempt uses any more goes once
    there are many lengths (``Timeouts`` made per call).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: dict[float, _Queue] = {}

    def start(self, seconds: float) -> Deadline:
        """The deadline ``seconds`` from now of the attempt the current task makes.

        Raises:
            RuntimeError: not called from a task.
        """
        queue = self._queues.get(seconds)
        if queue is None:
            if len(self._queues) >= _KEPT_LENGTHS:  # lengths that come and go: drop idle ones
                self._queues = {k: q for k, q in self._queues.items() if q.timer is not None}
            queue = self._queues[seconds] = _Queue(self._loop)
        task = asyncio.current_task(self._loop)
        if task is None:
            raise RuntimeError("a request must be sent from a task")
        deadline = Deadline(self._loop.time() + seconds, task)
        entries = queue.entries
        while entries and entries[0].state:  # ended: off the front
            entries.popleft()
        entries.append(deadline)
        if queue.timer is None:
            queue.arm(deadline.when)
        return deadline


class _Queue:
    """The deadlines of one length, in the order they started, under one timer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.entries: deque[Deadline] = deque()
        self.timer: asyncio.TimerHandle | None = None

    def arm(self, when: float) -> None:
        self.timer = self._loop.call_at(when, self._fired)

    def _fired(self) -> None:
        self.timer = None
        now = self._loop.time()
        entries = self.entries
        while entries:
            deadline = entries[0]
            if deadline.state == _RUNNING:
                if deadline.when > now:
                    self.arm(deadline.when)
                    return
                deadline.expire()
            entries.popleft()
