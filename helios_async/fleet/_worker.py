"""A fleet worker process: one :class:`~helios_async.HeliosClient`, opened at start-up and
closed at shutdown, running the fleet's jobs ``concurrency`` at a time.

Stopping: the first SIGTERM or Ctrl-C drains (no new jobs are taken; the checks in flight
finish and their results are written); a second one stops at once. Jobs stopped at once are
delivered again to another worker after the redelivery timeout, and the run journal makes
that worker pick their runs up instead of creating new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator

import attrs

from helios_async import HeliosClient, Hooks, PollPolicy, RateLimitError, RetryEvent

from ._check import CheckRunner
from ._cooldown import FleetCooldown
from ._docket import Engine
from ._names import FleetNames

__all__ = ["DEFAULT_REDELIVERY_TIMEOUT", "WorkerOptions", "run_worker"]

logger = logging.getLogger("helios_async.fleet")

DEFAULT_CONCURRENCY = 10
DEFAULT_REDELIVERY_TIMEOUT = 30.0


@attrs.frozen(kw_only=True)
class WorkerOptions:
    """A worker's settings (``helios-async fleet worker`` takes the same as options)."""

    redis_url: str
    """The fleet's Redis: ``redis://``, ``rediss://`` (TLS) or ``memory://`` (one process)."""
    fleet: str = "default"
    """The fleet's name: workers and submitters of one fleet share it."""
    concurrency: int = DEFAULT_CONCURRENCY
    """Checks this worker runs at once."""
    redelivery_timeout: float = DEFAULT_REDELIVERY_TIMEOUT
    """Seconds a dead worker's jobs wait before another worker takes them."""
    creates_per_minute: int | None = None
    """Fleet-wide cap on checks started per minute (give every worker the same), or None."""
    max_in_flight: int | None = None
    """Fleet-wide cap on checks running at once (give every worker the same), or None."""
    base_url: str | None = None
    """The API root (default: ``THYMIA_BASE_URL`` or the region's)."""
    region: str | None = None
    """The API region (``default``, ``ca``, ``us``), when ``base_url`` is not given."""
    poll_interval: float | None = None
    """Seconds between polls of a run (default: the client's, about 3)."""
    until_finished: bool = False
    """Stop once no job is left (for tests and one-off runs) instead of running until stopped."""
    api_key: str | None = attrs.field(default=None, repr=False)
    """The API key (default: ``THYMIA_API_KEY``); never shown in a repr."""


async def run_worker(options: WorkerOptions, *, handle_signals: bool = True) -> None:
    """Run a worker until stopped (SIGTERM, Ctrl-C, cancellation) or, with
    ``until_finished``, until no job is left. With ``handle_signals`` (in the main thread)
    the first SIGTERM or SIGINT drains and a second stops at once; cancelling the task
    running this drains too.

    Raises:
        InvalidInputError: a bad option, or no API key (THYMIA_API_KEY).
    """
    names = FleetNames(options.fleet)
    async with Engine(options.redis_url, names) as engine:
        cooldown = FleetCooldown(engine.redis, names, pubsub=engine.pubsub)
        poll = (
            PollPolicy(interval=options.poll_interval, first_interval=options.poll_interval)
            if options.poll_interval
            else None
        )
        client = HeliosClient(
            options.api_key,
            base_url=options.base_url,
            region=options.region,
            poll=poll,
            hooks=cooldown_hooks(cooldown),
            connection_limit=max(100, options.concurrency),
            user_agent_suffix=f"helios-fleet-worker/{os.getpid()}",
        )
        async with client, cooldown.listening():
            runner = CheckRunner(client, engine.redis, names, cooldown)
            work = asyncio.ensure_future(
                engine.work(
                    runner,
                    concurrency=options.concurrency,
                    redelivery_timeout=options.redelivery_timeout,
                    creates_per_minute=options.creates_per_minute,
                    max_in_flight=options.max_in_flight,
                    until_finished=options.until_finished,
                )
            )
            with _draining_on_signals(work, enabled=handle_signals):
                logger.info(
                    "fleet worker up: fleet %s, %d at a time", names.fleet, options.concurrency
                )
                await work  # a cancel of this task reaches the worker loop, which drains
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise asyncio.CancelledError  # the drain swallowed it: pass it on


def cooldown_hooks(cooldown: FleetCooldown) -> Hooks:
    """Client hooks that turn every 429 with ``Retry-After`` into a fleet-wide pause."""

    def on_retry(event: RetryEvent) -> None:
        if isinstance(event.error, RateLimitError) and event.error.retry_after:
            cooldown.note(event.error.retry_after)

    return Hooks(on_retry=on_retry)


@contextlib.contextmanager
def _draining_on_signals(work: asyncio.Future[None], *, enabled: bool) -> Iterator[None]:
    """First SIGTERM/SIGINT: drain (cancel the worker loop, which waits for its jobs).
    Second: cancel the drain too. Main thread only; previous handlers restored after."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    received: list[int] = []

    def handle(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            logger.warning("draining: no new jobs; waiting for the checks in flight")
        else:
            logger.warning("stopping now: jobs in flight go to another worker")
        work.cancel()

    for sig in signals:
        loop.add_signal_handler(sig, handle, sig)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
