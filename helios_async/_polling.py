"""Waiting for a model run to finish (thymia asks for a poll about every 3 s), with tenacity.

tenacity makes each decision of a wait: whether the run seen calls for another look (its
``retry`` strategy on the result), how long to pause (its ``wait`` strategy: the policy's
backoff with jitter) and whether that pause would end past the deadline (its ``stop``
strategy; the wait then cuts the pause for one last look that ends by the deadline). A
policy builds its strategies once, at its first wait (which imports tenacity: a program
that never waits never does), and a wait drives them itself, one ``RetryCallState`` per
wait, rather than through a controller per wait that re-inspects its callbacks on every
attempt.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import attrs

from ._errors import DeadlineExceededError
from ._model_methods import ModelMethods
from ._models import ModelRun
from ._retry import Sleep
from ._validation import policy_callable, policy_number

if TYPE_CHECKING:  # tenacity is imported by a policy's first wait, not before
    from tenacity import RetryCallState

__all__ = ["PollPolicy"]


def _unfinished(run: ModelRun) -> bool:
    return not run.is_finished


class _Backoff:
    """tenacity's wait strategy for a policy (any callable of the state): ``delay`` of the
    attempt number."""

    __slots__ = ("_delay",)

    def __init__(self, delay: Callable[[int], float]) -> None:
        self._delay = delay

    def __call__(self, retry_state: RetryCallState) -> float:
        return self._delay(retry_state.attempt_number)


class _PastDeadline:
    """tenacity's stop strategy for one wait (any callable of the state): stop before a pause
    that would end at or past ``deadline`` (event-loop time)."""

    __slots__ = ("_deadline", "_loop")  # one small object per wait, no dict, no bound method

    def __init__(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self._loop = loop
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._loop.time() + (retry_state.upcoming_sleep or 0.0) >= self._deadline


@attrs.frozen(kw_only=True, eq=False, repr=False)
class PollPolicy(ModelMethods):
    """How the client polls a model run until it finishes.

    The first wait is ``first_interval`` seconds; each next one is ``multiplier`` times longer
    up to the steady ``interval`` (the documented 3 s), each scaled by a random factor in
    ``[1 - jitter, 1 + jitter]`` so that many waiting tasks do not poll in step. ``timeout``
    (seconds) is the default deadline of one wait. The first look of a wait comes after a
    pause drawn from ``[0, first_interval * jitter]``, so that many waits started together do
    not all look at once. ``sleep`` (default ``asyncio.sleep``) is how the pauses are slept;
    tests inject one that returns at once.

    Raises:
        InvalidInputError: naming the field (``PollPolicy.timeout``): an interval or
            ``timeout`` not a finite number above 0, ``multiplier`` below 1 or not finite,
            ``jitter`` outside ``[0, 1)``, ``sleep`` not callable.

    See https://helios-async.readthedocs.io/helios/#polling and
    https://helios-async.readthedocs.io/helios/#unknown-values
    """

    interval: float = attrs.field(default=3.0, validator=policy_number(above=0))
    """The steady wait between polls, in seconds (thymia recommends 3)."""
    first_interval: float = attrs.field(default=1.0, validator=policy_number(above=0))
    """The wait after the first poll, in seconds; the first poll itself comes after a pause
    of at most ``first_interval * jitter`` (none without jitter)."""
    multiplier: float = attrs.field(default=1.5, validator=policy_number(at_least=1))
    """How much longer each wait is than the one before, up to ``interval``."""
    jitter: float = attrs.field(default=0.1, validator=policy_number(at_least=0, below=1))
    """Each wait is scaled by a random factor in ``[1 - jitter, 1 + jitter]``."""
    timeout: float = attrs.field(default=600.0, validator=policy_number(above=0))
    """The default deadline of one ``wait_for_model_run``, in seconds, requests included."""
    sleep: Sleep = attrs.field(
        default=asyncio.sleep, eq=False, repr=False, validator=policy_callable
    )
    """How the waits are slept (``asyncio.sleep``); tests inject one that returns at once."""
    _strategies: _Strategies | None = attrs.field(init=False, default=None, eq=False, repr=False)
    """tenacity's strategies for this policy, built at its first wait (``_strategies_of``)."""

    def delay(self, poll_number: int) -> float:
        """Seconds to wait after poll ``poll_number`` (1-based) before the next."""
        try:
            grown = self.first_interval * self.multiplier ** (poll_number - 1)
        except OverflowError:  # thousands of polls in: long since at the steady interval
            grown = self.interval
        base = min(self.interval, grown)
        return base * random.uniform(1.0 - self.jitter, 1.0 + self.jitter)

    def first_delay(self) -> float:
        """Seconds to wait before a wait's first look: 0 without jitter, else a random part
        of ``first_interval * jitter``."""
        return random.uniform(0.0, self.first_interval * self.jitter) if self.jitter else 0.0


class _Strategies:
    """tenacity's strategies for one policy: an ``AsyncRetrying`` holding its retry (the run
    seen is unfinished) and wait (``_Backoff``), to which each wait's ``RetryCallState``
    refers, and that state's class."""

    __slots__ = ("retry", "retrying", "state", "wait")

    def __init__(self, policy: PollPolicy) -> None:
        from tenacity import AsyncRetrying, RetryCallState, retry_if_result

        self.retrying = AsyncRetrying(
            retry=retry_if_result(_unfinished),
            wait=_Backoff(policy.delay),
            sleep=policy.sleep,
            reraise=True,
        )
        self.retry = self.retrying.retry
        self.wait = self.retrying.wait
        self.state = RetryCallState


def _strategies_of(policy: PollPolicy) -> _Strategies:
    """``policy``'s strategies, built at its first wait and kept on it."""
    strategies = policy._strategies
    if strategies is None:
        strategies = _Strategies(policy)
        object.__setattr__(policy, "_strategies", strategies)  # frozen, but for this cache
    return strategies


LAST_LOOK_MARGIN = 0.02
"""Seconds left spare after the last look's allowance: timers fire late and answers vary."""


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
    the error. A deadline already past raises at once, without a look. The first look comes
    after ``policy.first_delay()``; then tenacity's strategies, built once per policy, decide
    each next step (see the module docstring). When the policy's next look would fall past
    the deadline, the pause is cut so that one last look, even twice as long as the one
    before (plus ``LAST_LOOK_MARGIN``), ends by the deadline; if that look still sees the
    run unfinished (or no look fits), the wait sleeps out the time left:
    ``DeadlineExceededError`` is raised once the deadline has passed, never before.

    Raises:
        DeadlineExceededError: ``phase == "poll"``, with the last run seen.
        Whatever ``look`` raises (after its own retries).
    """
    loop = asyncio.get_running_loop()
    if deadline <= loop.time():
        raise DeadlineExceededError("poll", timeout=timeout, model_run_id=model_run_id)
    strategies = _strategies_of(policy)
    retry, wait, sleep = strategies.retry, strategies.wait, policy.sleep
    stop = _PastDeadline(loop, deadline)
    last: ModelRun | None = None
    first = policy.first_delay()
    if first > 0.0:
        await sleep(min(first, deadline - loop.time()))
    state = strategies.state(strategies.retrying, None, (), {})
    last_chance = False
    while loop.time() < deadline:
        began = loop.time()
        # The deadline bounds each look (its requests included); the pauses end before it by
        # their own arithmetic. A scope per look, not per wait: a waiting check keeps no
        # timer alive through its pauses.
        scope = asyncio.timeout_at(deadline)
        try:
            async with scope:
                last = await look()
        except TimeoutError:
            if not scope.expired():
                raise
            break
        state.set_result(last)
        if not retry(state):
            return last
        state.upcoming_sleep = pause = wait(state)
        if stop(state):  # the policy's next look would fall past the deadline
            left = deadline - loop.time()
            # Room for a look twice as long as this one, and a margin: a look cut at the
            # deadline is a request the server got and the caller learns nothing from.
            room = left - 2.0 * (loop.time() - began) - LAST_LOOK_MARGIN
            if last_chance or room <= 0.0:
                if left > 0.0:
                    await sleep(left)  # the error comes once the deadline has passed
                break
            last_chance = True  # one last look, timed to end by the deadline
            state.upcoming_sleep = pause = room
        # As tenacity does, before the pause: its outcome (a concurrent.futures.Future and
        # its lock) is not kept alive, nor walked by the collector, while asleep.
        state.idle_for += pause
        state.prepare_for_next_attempt()
        await sleep(pause)
    raise DeadlineExceededError("poll", timeout=timeout, model_run_id=model_run_id, last_run=last)
