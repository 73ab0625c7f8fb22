"""Retrying one request through transient failures, with tenacity.

Retrying is about one request; waiting for a model run to finish is ``_polling``'s job.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from functools import partial

import attrs
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from ._errors import (
    ConnectError,
    DecodeError,
    RateLimitError,
    TransientAPIError,
    TransportError,
    UploadError,
)

__all__ = ["RetryPolicy", "Sleep"]

Sleep = Callable[[float], Awaitable[None]]
"""How a policy waits: an ``asyncio.sleep``-like coroutine function taking seconds."""


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How one request is retried through transient failures.

    Waits grow exponentially with full jitter: before retry *n* the client sleeps a random
    time in ``[0, min(backoff_max, backoff_initial * 2**(n-1))]`` seconds, unless the server
    sent ``Retry-After``, which is honoured exactly when it is at most ``max_retry_after``
    seconds; a longer one is not waited out and the :class:`~helios_async.RateLimitError`
    (with ``retry_after`` set) is raised at once. Retries stop after ``attempts`` tries in all
    or when the next wait would pass ``total_timeout`` seconds from the first try.

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
        ValueError: ``attempts`` below 1, a backoff or ``total_timeout`` not positive, or a
            negative ``max_retry_after``.

    See https://helios-async.readthedocs.io/helios/#retries-and-idempotency
    """

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    """Tries in all, the first included."""
    backoff_initial: float = attrs.field(default=0.5, validator=_positive)
    """The ceiling of the first backoff, in seconds; it doubles with each retry."""
    backoff_max: float = attrs.field(default=8.0, validator=_positive)
    """The highest backoff ceiling, in seconds."""
    total_timeout: float = attrs.field(default=60.0, validator=_positive)
    """No wait may pass this many seconds after the first try."""
    max_retry_after: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))
    """The longest ``Retry-After`` waited out, in seconds; a longer one raises at once."""
    sleep: Sleep = attrs.field(default=asyncio.sleep, eq=False, repr=False)
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
        if isinstance(retry_after, float | int):
            return float(retry_after)
        return self.backoff(state.attempt_number)

    def controller(
        self,
        *,
        idempotent: bool,
        before_sleep: Callable[[RetryCallState], None] | None = None,
    ) -> AsyncRetrying:
        """A fresh tenacity controller for one request."""
        return AsyncRetrying(
            retry=retry_if_exception(partial(self.should_retry, idempotent=idempotent)),
            wait=self._wait,
            stop=stop_after_attempt(self.attempts) | stop_before_delay(self.total_timeout),
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
