"""Waiting for a model run to finish (thymia asks for a poll about every 3 s), with tenacity."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from tenacity import AsyncRetrying, RetryCallState, retry_if_result

from ._errors import DeadlineExceededError
from ._models import ModelRun
from ._retry import Sleep

__all__ = ["PollPolicy"]


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How the client polls a model run until it finishes.

    The first wait is ``first_interval`` seconds; each next one is ``multiplier`` times longer
    up to the steady ``interval`` (the documented 3 s), each scaled by a random factor in
    ``[1 - jitter, 1 + jitter]`` so that many waiting tasks do not poll in step. ``timeout``
    (seconds) is the default deadline of one wait. A fresh tenacity controller is built per
    wait. ``sleep`` (default ``asyncio.sleep``) is how the pauses are slept; tests inject one
    that returns at once.

    Raises:
        ValueError: an interval or ``timeout`` not positive, ``multiplier`` below 1, or
            ``jitter`` outside ``[0, 1)``.

    See https://helios-async.readthedocs.io/helios/#polling and
    https://helios-async.readthedocs.io/helios/#unknown-values
    """

    interval: float = attrs.field(default=3.0, validator=attrs.validators.gt(0))
    """The steady wait between polls, in seconds (thymia recommends 3)."""
    first_interval: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    """The wait after the first poll, in seconds (the first poll comes at once)."""
    multiplier: float = attrs.field(default=1.5, validator=attrs.validators.ge(1))
    """How much longer each wait is than the one before, up to ``interval``."""
    jitter: float = attrs.field(
        default=0.1, validator=[attrs.validators.ge(0), attrs.validators.lt(1)]
    )
    """Each wait is scaled by a random factor in ``[1 - jitter, 1 + jitter]``."""
    timeout: float = attrs.field(default=600.0, validator=attrs.validators.gt(0))
    """The default deadline of one ``wait_for_model_run``, in seconds, requests included."""
    sleep: Sleep = attrs.field(default=asyncio.sleep, eq=False, repr=False)
    """How the waits are slept (``asyncio.sleep``); tests inject one that returns at once."""

    def delay(self, poll_number: int) -> float:
        """Seconds to wait after poll ``poll_number`` (1-based) before the next."""
        try:
            grown = self.first_interval * self.multiplier ** (poll_number - 1)
        except OverflowError:  # thousands of polls in: long since at the steady interval
            grown = self.interval
        base = min(self.interval, grown)
        return base * random.uniform(1.0 - self.jitter, 1.0 + self.jitter)

    def controller(
        self,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        before_sleep: Callable[[RetryCallState], Any] | None = None,
    ) -> AsyncRetrying:
        """A fresh controller that calls a ``ModelRun`` getter until the run is finished.

        It gives up, returning the last unfinished run, when the next wait would pass the
        ``deadline`` (event-loop time), or ``timeout`` seconds from now; errors from the getter
        propagate at once. Call it inside a running event loop.
        """
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + (self.timeout if timeout is None else timeout)
        end = deadline

        def past_deadline(state: RetryCallState) -> bool:
            return loop.time() + (state.upcoming_sleep or 0.0) >= end

        return AsyncRetrying(
            retry=retry_if_result(_unfinished),
            wait=lambda state: self.delay(state.attempt_number),
            stop=past_deadline,
            sleep=self.sleep,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            before_sleep=before_sleep,
            reraise=True,
        )


def _unfinished(run: ModelRun) -> bool:
    return not run.is_finished


async def wait_until_finished(
    look: Callable[[], Awaitable[ModelRun]],
    policy: PollPolicy,
    *,
    deadline: float,
    timeout: float,
    model_run_id: str,
) -> ModelRun:
    """Call ``look`` until the run it returns is finished, by ``deadline``.

    ``deadline`` is event-loop time, the one clock of the wait: it bounds the looks (requests
    included) and stops the pauses; ``timeout`` is the budget in seconds it came from, for
    the error. A deadline already past raises at once, without a look. A run is often
    finished at the first look; only one that is not gets a poll controller, whose first
    attempt replays that look.

    Raises:
        DeadlineExceededError: ``phase == "poll"``, with the last run seen.
        Whatever ``look`` raises (after its own retries).
    """
    last: ModelRun | None = None

    async def look_and_keep() -> ModelRun:
        nonlocal last
        last = await look()
        return last

    if deadline <= asyncio.get_running_loop().time():
        raise DeadlineExceededError("poll", timeout=timeout, model_run_id=model_run_id)
    scope = asyncio.timeout_at(deadline)
    result: ModelRun | None = None
    try:
        async with scope:
            first: ModelRun | None = await look_and_keep()
            if first is not None and first.is_finished:
                result = first
            else:

                async def attempt() -> ModelRun:
                    nonlocal first
                    if first is not None:
                        looked, first = first, None
                        return looked
                    return await look_and_keep()

                result = await policy.controller(deadline=deadline)(attempt)
    except TimeoutError:
        if not scope.expired():
            raise
    if result is None or not result.is_finished:
        raise DeadlineExceededError(
            "poll", timeout=timeout, model_run_id=model_run_id, last_run=last
        )
    return result
