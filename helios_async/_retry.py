"""Retrying one request through transient failures, with tenacity.

Retrying is about one request; waiting for a model run to finish is ``_polling``'s job.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

import attrs

from ._errors import (
    ConnectError,
    DecodeError,
    PoolTimeoutError,
    RateLimitError,
    ResponseTooLargeError,
    TransientAPIError,
    TransportError,
    UploadError,
)
from ._model_methods import ModelMethods
from ._validation import policy_callable, policy_int, policy_number

if TYPE_CHECKING:  # tenacity is imported by the first retry (a controller), not before
    from tenacity import AsyncRetrying, RetryCallState

__all__ = ["RetryPolicy", "Sleep"]


Sleep = Callable[[float], Awaitable[None]]
"""How a policy waits: an ``asyncio.sleep``-like coroutine function taking seconds."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class RetryPolicy(ModelMethods):
    """How one request is retried through transient failures.

    Waits grow exponentially with full jitter: before retry *n* the client sleeps a random
    time in ``[0, min(backoff_max, backoff_initial * 2**(n-1))]`` seconds, unless the server
    sent ``Retry-After`` (RFC 9110: whole seconds, ``1*DIGIT``, or an HTTP date), which is
    honoured exactly when it is at most ``max_retry_after`` seconds; a longer one is not
    waited out and the :class:`~helios_async.RateLimitError` (with ``retry_after`` set) is
    raised at once. A ``Retry-After`` of 0 or a date in the past asks for no wait, and gets
    the backoff all the same; an unreadable one (``-5``, ``1e9``, ``inf``, ``abc``) is
    ignored. Retries stop after ``attempts`` tries in all or when the next wait would pass
    ``total_timeout`` seconds from the first try.

    A 429's ``Retry-After`` also pauses every request of the client (the cool-down); when it
    ends, each waiting request resumes at a random moment within ``cooldown_jitter`` seconds
    (or the cool-down's own length, if shorter), so they do not all fire at once.

    What is retried (allow-lists; anything else, cancellation above all, propagates):

    - idempotent requests (GET, the upload PUT): connection failures, timeouts, cut-short
      bodies, and 408, 429, 500, 502, 503, 504;
    - the create POST, which is not idempotent: only a failure that proves the server never
      acted on it, a connection that could not be opened or a 429.

    ``RetryPolicy.disabled()`` tries once. A fresh tenacity controller is built per request.
    ``sleep`` (default ``asyncio.sleep``) is how the waits are slept, the client-wide 429
    cool-down included: tests inject one that records the delays and returns at once.
    thymia documents no retry behaviour; these rules are the client's.

    Raises:
        InvalidInputError: naming the field (``RetryPolicy.attempts``): ``attempts`` not an
            int of at least 1, a backoff or ``total_timeout`` not a finite number above 0,
            ``max_retry_after`` or ``cooldown_jitter`` negative or not finite, ``sleep`` not
            callable.

    See https://helios-async.readthedocs.io/helios/#retries-and-idempotency
    """

    attempts: int = attrs.field(default=4, validator=policy_int(at_least=1))
    """Tries in all, the first included."""
    backoff_initial: float = attrs.field(default=0.5, validator=policy_number(above=0))
    """The ceiling of the first backoff, in seconds; it doubles with each retry."""
    backoff_max: float = attrs.field(default=8.0, validator=policy_number(above=0))
    """The highest backoff ceiling, in seconds."""
    total_timeout: float = attrs.field(default=60.0, validator=policy_number(above=0))
    """No wait may pass this many seconds after the first try began."""
    max_retry_after: float = attrs.field(default=60.0, validator=policy_number(at_least=0))
    """The longest ``Retry-After`` waited out, in seconds; a longer one raises at once."""
    cooldown_jitter: float = attrs.field(default=1.0, validator=policy_number(at_least=0))
    """Seconds over which the requests a 429 cool-down held resume, each at a random moment
    (at most the cool-down's own length)."""
    sleep: Sleep = attrs.field(
        default=asyncio.sleep, eq=False, repr=False, validator=policy_callable
    )
    """How the waits are slept, the 429 cool-down included (``asyncio.sleep``)."""

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that makes exactly one attempt."""
        return cls(attempts=1)

    def should_retry(self, exc: BaseException, *, idempotent: bool) -> bool:
        """Whether ``exc`` is worth another attempt of a request."""
        if isinstance(exc, TransientAPIError | UploadError) and (
            exc.retry_after is not None and exc.retry_after > self.max_retry_after
        ):
            return False
        if isinstance(exc, TransientAPIError):
            return idempotent or isinstance(exc, RateLimitError)
        if isinstance(exc, UploadError):
            return exc.is_transient
        if isinstance(exc, DecodeError):
            return exc.malformed and idempotent  # garbled on the way; the next read may not be
        if isinstance(exc, PoolTimeoutError | ResponseTooLargeError):
            return False  # the wait had its budget; the next answer would be as large
        if isinstance(exc, ConnectError):
            return True
        return isinstance(exc, TransportError) and idempotent

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based), full jitter."""
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** (retry_number - 1))
        return random.uniform(0.0, ceiling)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, float | int) and retry_after > 0:
            return float(retry_after)
        return self.backoff(state.attempt_number)  # none, or "no wait": the backoff floor

    def controller(
        self,
        *,
        idempotent: bool,
        before_sleep: Callable[[RetryCallState], None] | None = None,
        sleep: Sleep | None = None,
        started: float | None = None,
    ) -> AsyncRetrying:
        """A fresh tenacity controller for one request; ``sleep`` replaces the policy's.

        ``started`` (``time.monotonic()``) is when the request's first try began, if before
        the controller: ``total_timeout`` counts from it, not from the controller's start.
        """
        # Here rather than at the top: a request that succeeds at once never needs tenacity.
        from tenacity import (
            AsyncRetrying,
            retry_if_exception,
            stop_after_attempt,
            stop_before_delay,
        )

        tries = stop_after_attempt(self.attempts)
        stop: Callable[[RetryCallState], bool]
        if started is None:
            stop = tries | stop_before_delay(self.total_timeout)
        else:
            total = self.total_timeout

            def stop(state: RetryCallState) -> bool:
                upcoming = state.upcoming_sleep or 0.0
                return tries(state) or time.monotonic() - started + upcoming >= total

        return AsyncRetrying(
            retry=retry_if_exception(partial(self.should_retry, idempotent=idempotent)),
            wait=self._wait,
            stop=stop,
            before_sleep=before_sleep,
            sleep=sleep or self.sleep,
            reraise=True,
        )
