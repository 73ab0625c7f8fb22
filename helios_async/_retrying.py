"""Retrying one request after its first try failed: tenacity's controller for a
:class:`~helios_async.RetryPolicy`.

Imported by the first retry (``_sending``), not before: most requests succeed at once, and a
program that never retries never imports tenacity.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)
from tenacity.stop import stop_base

from ._retry import RetryPolicy, Sleep

__all__ = ["controller"]


class stop_when(stop_base):  # tenacity's naming
    """Stop when ``condition(state)`` holds."""

    def __init__(self, condition: Callable[[RetryCallState], bool]) -> None:
        self._condition = condition

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._condition(retry_state)


def controller(
    policy: RetryPolicy,
    *,
    idempotent: bool,
    before_sleep: Callable[[RetryCallState], None] | None = None,
    sleep: Sleep | None = None,
    started: float | None = None,
) -> AsyncRetrying:
    """A fresh tenacity controller for one request under ``policy``; ``sleep`` replaces the
    policy's.

    It retries what ``policy.should_retry`` allows, waits a positive ``Retry-After`` of the
    error exactly and otherwise ``policy.backoff``, stops after ``policy.attempts`` tries or
    before a wait that would pass ``total_timeout``, and re-raises the last error.
    ``started`` (``time.monotonic()``) is when the request's first try began, if before the
    controller: ``total_timeout`` counts from it, not from the controller's start.
    """
    budget: stop_base
    if started is None:
        budget = stop_before_delay(policy.total_timeout)
    else:
        total = policy.total_timeout
        budget = stop_when(
            lambda state: time.monotonic() - started + (state.upcoming_sleep or 0.0) >= total
        )
    return AsyncRetrying(
        retry=retry_if_exception(partial(policy.should_retry, idempotent=idempotent)),
        wait=partial(_pause, policy),
        stop=stop_after_attempt(policy.attempts) | budget,
        before_sleep=before_sleep,
        sleep=sleep or policy.sleep,
        reraise=True,
    )


def _pause(policy: RetryPolicy, state: RetryCallState) -> float:
    """Seconds before the next try: the error's ``Retry-After`` if above 0, else the backoff
    (none, or "no wait": the backoff is the floor)."""
    exc = state.outcome.exception() if state.outcome is not None else None
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, float | int) and retry_after > 0:
        return float(retry_after)
    return policy.backoff(state.attempt_number)
