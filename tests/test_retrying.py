"""Retrying one request after its first try failed: tenacity's controller for a policy
(helios-api.md §5, D2, D13)."""

from __future__ import annotations

import asyncio

import pytest
from multidict import CIMultiDict

from helios_async import (
    AuthenticationError,
    BadRequestError,
    ConnectError,
    NotFoundError,
    RequestTimeoutError,
    RetryPolicy,
    TransientAPIError,
    TransportError,
)
from helios_async._decoding import error_for_status
from helios_async._errors import APIError
from helios_async._retrying import controller


def api_error(status: int, retry_after: float | None = None) -> APIError:
    return error_for_status(status, b"", CIMultiDict(), retry_after=retry_after)


def transport(cls: type[TransportError] = TransportError) -> TransportError:
    return cls("failed", method="GET", url="https://h")


# --- the controller ----------------------------------------------------------------------------


class Flaky:
    """Fails with each of ``errors`` in turn, then returns "ok"; counts calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps:
    """An injected ``sleep`` that records each wait (seconds) and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


FAST = RetryPolicy(attempts=4, backoff_initial=0.001, backoff_max=0.002, sleep=Sleeps())


async def test_a_get_is_retried_through_transient_failures_until_it_succeeds():
    call = Flaky(api_error(503), transport(RequestTimeoutError), api_error(502))
    assert await controller(FAST, idempotent=True)(call) == "ok"
    assert call.calls == 4


async def test_retries_stop_after_the_attempt_budget_and_raise_the_last_error():
    """The original error propagates (not a tenacity RetryError)."""
    errors = [api_error(503) for _ in range(10)]
    call = Flaky(*errors)
    with pytest.raises(TransientAPIError) as caught:
        await controller(RetryPolicy(attempts=3, backoff_initial=0.001), idempotent=True)(call)
    assert call.calls == 3
    assert caught.value is errors[2]


async def test_disabled_tries_exactly_once():
    call = Flaky(api_error(503))
    with pytest.raises(TransientAPIError):
        await controller(RetryPolicy.disabled(), idempotent=True)(call)
    assert call.calls == 1


async def test_the_create_post_is_not_retried_after_a_503():
    """D13: the POST is not idempotent; a 503 may have come after the run was made."""
    call = Flaky(api_error(503))
    with pytest.raises(TransientAPIError):
        await controller(FAST, idempotent=False)(call)
    assert call.calls == 1


async def test_the_create_post_is_retried_after_a_429_and_a_refused_connection():
    """D13: both prove the server never acted on it."""
    call = Flaky(api_error(429, retry_after=0), transport(ConnectError))
    assert await controller(FAST, idempotent=False)(call) == "ok"
    assert call.calls == 3


@pytest.mark.parametrize("idempotent", [True, False])
async def test_cancellation_is_never_retried(idempotent):
    """Cancelling the task stops the request at once, whatever the policy."""
    call = Flaky(asyncio.CancelledError(), api_error(503))
    with pytest.raises(asyncio.CancelledError):
        await controller(FAST, idempotent=idempotent)(call)
    assert call.calls == 1


async def test_cancelling_a_task_during_the_backoff_sleep_propagates():
    """A task cancelled while waiting to retry ends with CancelledError; no more attempts."""
    call = Flaky(*[api_error(503, retry_after=5.0) for _ in range(10)])
    sleeping = asyncio.Event()

    async def sleep_forever(seconds: float) -> None:
        sleeping.set()
        await asyncio.Future()  # only cancellation ends this wait

    policy = RetryPolicy(attempts=10, sleep=sleep_forever)
    task = asyncio.ensure_future(controller(policy, idempotent=True)(call))
    await sleeping.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert call.calls == 1


async def test_retry_after_is_honoured_exactly_instead_of_the_backoff():
    """D13: the wait before a retry is the server's Retry-After when it sent one."""
    sleeps = Sleeps()
    call = Flaky(api_error(429, retry_after=20.0), api_error(503, retry_after=10.0), api_error(503))
    policy = RetryPolicy(attempts=5, backoff_initial=0.001, backoff_max=0.001, sleep=sleeps)
    assert await controller(policy, idempotent=True)(call) == "ok"
    assert sleeps.waits[:2] == [20.0, 10.0]  # slept by the injected sleep, not for real
    assert 0.0 <= sleeps.waits[2] <= 0.001


async def test_no_retry_is_started_that_would_pass_the_total_timeout():
    """The next wait must fit in ``total_timeout`` from the first try."""
    call = Flaky(api_error(503, retry_after=1.0), api_error(503))
    policy = RetryPolicy(attempts=5, total_timeout=0.05)
    with pytest.raises(TransientAPIError):
        await controller(policy, idempotent=True)(call)
    assert call.calls == 1


@pytest.mark.parametrize("error", [api_error(404), api_error(401), api_error(422)])
async def test_definite_refusals_propagate_after_one_attempt(error):
    call = Flaky(error)
    with pytest.raises(type(error)):
        await controller(FAST, idempotent=True)(call)
    assert call.calls == 1
    assert isinstance(error, NotFoundError | AuthenticationError | BadRequestError)


def test_each_request_gets_a_fresh_controller():
    assert controller(FAST, idempotent=True) is not controller(FAST, idempotent=True)
