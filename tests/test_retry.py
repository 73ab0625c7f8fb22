"""Retrying one request (helios-api.md §5, D2, D13)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from multidict import CIMultiDict

from helios_async import (
    ClientClosedError,
    ConnectError,
    DecodeError,
    InvalidInputError,
    OutcomeUnknownError,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    TransientAPIError,
    TransportError,
    UploadError,
    UploadURLExpiredError,
)
from helios_async._decoding import error_for_status
from helios_async._errors import APIError

POLICY = RetryPolicy()
SAMPLES = 2000


def api_error(status: int, retry_after: float | None = None) -> APIError:
    return error_for_status(status, b"", CIMultiDict(), retry_after=retry_after)


def transport(cls: type[TransportError] = TransportError) -> TransportError:
    return cls("failed", method="GET", url="https://h")


# --- D13: what is retried ----------------------------------------------------------------------

RETRY_MATRIX = [
    # (error, retried for GET/PUT, retried for the create POST)
    (transport(ConnectError), True, True),
    (transport(RequestTimeoutError), True, False),
    (transport(TransportError), True, False),
    (api_error(408), True, False),
    (api_error(500), True, False),
    (api_error(502), True, False),
    (api_error(503), True, False),
    (api_error(504), True, False),
    (api_error(429), True, True),
    (api_error(429, retry_after=0), True, True),
    (api_error(400), False, False),
    (api_error(401), False, False),
    (api_error(403), False, False),
    (api_error(404), False, False),
    (api_error(410), False, False),
    (api_error(422), False, False),
    (api_error(418), False, False),
    (api_error(501), False, False),
    (DecodeError("bad", body=b"{"), False, False),
    (InvalidInputError("x", "y"), False, False),
    (ClientClosedError("closed"), False, False),
    (OutcomeUnknownError("create_model_run", user_label="u", cause=ValueError()), False, False),
    (aiohttp.ClientConnectionError("raw aiohttp"), False, False),
    (ValueError("bug"), False, False),
    (asyncio.CancelledError(), False, False),
    (KeyboardInterrupt(), False, False),
]


@pytest.mark.parametrize(
    ("error", "for_get", "for_create"),
    RETRY_MATRIX,
    ids=[f"{type(e).__name__}-{getattr(e, 'status', '')}" for e, _, _ in RETRY_MATRIX],
)
def test_should_retry_follows_the_allow_lists(error, for_get, for_create):
    """D13: a GET is retried on any transport failure and 408/429/5xx; the create POST only
    when the server provably never acted (no connection, or 429); nothing else, ever."""
    assert POLICY.should_retry(error, idempotent=True) is for_get
    assert POLICY.should_retry(error, idempotent=False) is for_create


@pytest.mark.parametrize("idempotent", [True, False])
def test_a_retry_after_above_the_cap_is_not_waited_out(idempotent):
    """D13: Retry-After is honoured up to a cap; beyond it the error is raised at once."""
    policy = RetryPolicy(max_retry_after=30)
    assert policy.should_retry(api_error(429, retry_after=30.0), idempotent=idempotent)
    assert not policy.should_retry(api_error(429, retry_after=30.5), idempotent=idempotent)
    assert not policy.should_retry(api_error(503, retry_after=31.0), idempotent=True)
    assert policy.should_retry(api_error(503, retry_after=29.0), idempotent=True)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (UploadError(500, b""), True),
        (UploadError(503, b""), True),
        (UploadError(429, b""), True),
        (UploadError(400, b""), False),
        (UploadError(411, b""), False),
        (UploadURLExpiredError(403, b""), False),
    ],
)
def test_upload_errors_are_retried_only_when_storage_may_accept_later(error, retried):
    """D13, D14: the upload PUT is retried on transient failures; an expired URL never."""
    assert POLICY.should_retry(error, idempotent=True) is retried


# --- backoff: full jitter ----------------------------------------------------------------------


@pytest.mark.parametrize("retry_number", [1, 2, 3, 4, 5, 8, 20])
def test_backoff_is_full_jitter_below_the_exponential_ceiling(retry_number):
    """Waits are uniform in [0, min(backoff_max, backoff_initial * 2**(n-1))]."""
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=8.0)
    ceiling = min(8.0, 0.5 * 2 ** (retry_number - 1))
    samples = [policy.backoff(retry_number) for _ in range(SAMPLES)]
    assert all(0.0 <= s <= ceiling for s in samples)
    # Full jitter spreads over the whole range, not just near the ceiling.
    assert min(samples) < 0.1 * ceiling
    assert max(samples) > 0.9 * ceiling
    assert 0.4 * ceiling < sum(samples) / len(samples) < 0.6 * ceiling


def test_backoff_is_random_not_a_fixed_schedule():
    assert len({POLICY.backoff(1) for _ in range(50)}) > 40


@pytest.mark.parametrize(
    "fields",
    [
        {"attempts": 0},
        {"backoff_initial": 0},
        {"backoff_max": -1},
        {"total_timeout": 0},
        {"max_retry_after": -0.5},
    ],
)
def test_nonsensical_policies_are_refused(fields):
    with pytest.raises(ValueError, match=next(iter(fields))):
        RetryPolicy(**fields)


def test_rate_limit_is_a_transient_api_error():
    assert issubclass(RateLimitError, TransientAPIError)
