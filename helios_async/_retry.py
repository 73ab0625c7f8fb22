"""Retrying one request through transient failures: the policy (``_retrying`` drives the
retries with tenacity, imported by the first retry).

Retrying is about one request; waiting for a model run to finish is ``_polling``'s job.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

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

    ``RetryPolicy.disabled()`` tries once. tenacity drives the retries of a request whose
    first try failed, with a fresh controller (a request that succeeds at once builds none).
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
