"""``Retry-After`` as servers really send it (issue 10, item 10; RFC 9110 §10.2.3)."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from collections.abc import Callable

import pytest
from aiohttp import web
from conftest import Sleeps
from hostile_servers import json_answer, web_app

from helios_async import HeliosClient, RetryPolicy, TransientAPIError

BACKOFF = 0.25  # the first retry's jittered backoff at its ceiling (random.uniform patched)


def http_date(seconds_from_now: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
    return email.utils.format_datetime(when, usegmt=True)


@pytest.fixture(autouse=True)
def jitter_at_its_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full jitter draws from [0, ceiling]; pinned to the ceiling, the backoff is known."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


def unavailable_once(retry_after: str) -> Callable[[web.Request], object]:
    calls = 0

    async def account(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return json_answer({"detail": "busy"}, status=503, **{"Retry-After": retry_after})
        return json_answer({"id": "acc-1", "features": []})

    return account


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("5", 5.0, 5.0),  # delay-seconds: honoured exactly
        ("0", BACKOFF, BACKOFF),  # "no wait": the backoff floor all the same
        ("-5", BACKOFF, BACKOFF),  # not 1*DIGIT: unreadable, the backoff decides
        ("1e9", BACKOFF, BACKOFF),  # not 1*DIGIT: never "give up at once"
        ("inf", BACKOFF, BACKOFF),
        ("nan", BACKOFF, BACKOFF),
        ("abc", BACKOFF, BACKOFF),
        ("2.5", BACKOFF, BACKOFF),
        ("date-3600", BACKOFF, BACKOFF),  # a date in the past: no wait, the backoff
        ("date+4", 2.0, 4.0),  # a date ahead: the seconds until it (whole seconds)
    ],
    ids=["5", "0", "-5", "1e9", "inf", "nan", "abc", "2.5", "past-date", "date"],
)
async def test_retry_after_is_read_as_rfc_9110_says(
    make_client: Callable[..., HeliosClient], sleeps: Sleeps, value: str, low: float, high: float
) -> None:
    if value.startswith("date"):  # made now, not when the tests were collected
        value = http_date(float(value.removeprefix("date")))
    async with (
        web_app({("GET", "/v1/account"): unavailable_once(value)}) as root,
        make_client(root) as client,
    ):
        assert (await client.get_account()).id == "acc-1"
    [wait] = sleeps.waits
    assert low <= wait <= high


async def test_a_retry_after_over_the_cap_is_raised_at_once(
    make_client: Callable[..., HeliosClient], sleeps: Sleeps
) -> None:
    """A valid 120 s ask, over max_retry_after (60 s), is not waited out."""
    async with (
        web_app({("GET", "/v1/account"): unavailable_once("120")}) as root,
        make_client(root, retry=RetryPolicy(attempts=3, sleep=sleeps)) as client,
    ):
        with pytest.raises(TransientAPIError) as caught:
            await client.get_account()
    assert caught.value.retry_after == 120.0
    assert sleeps.waits == []
