"""Policies check every field when they are made (issue 10, item 19).

A bad value used to be accepted and fail later inside aiohttp, or raise a bare ValueError;
now each is an InvalidInputError naming ``Class.field``, before any client or request.
"""

from __future__ import annotations

from typing import Any

import pytest

from helios_async import InvalidInputError, PollPolicy, RetryPolicy, Timeouts


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (Timeouts, "read", "30"),
        (Timeouts, "connect", float("nan")),
        (Timeouts, "response", 0),
        (Timeouts, "pool", -1.0),
        (Timeouts, "upload_min_rate", float("inf")),
        (Timeouts, "upload", True),
        (RetryPolicy, "attempts", 2.5),
        (RetryPolicy, "attempts", True),
        (RetryPolicy, "attempts", 0),
        (RetryPolicy, "backoff_initial", "0.5"),
        (RetryPolicy, "total_timeout", float("inf")),
        (RetryPolicy, "max_retry_after", -1),
        (RetryPolicy, "cooldown_jitter", float("nan")),
        (RetryPolicy, "sleep", 5),
        (PollPolicy, "timeout", float("inf")),
        (PollPolicy, "interval", "3"),
        (PollPolicy, "multiplier", 0.5),
        (PollPolicy, "jitter", 1.0),
        (PollPolicy, "sleep", None),
    ],
)
def test_a_bad_policy_field_is_refused_at_construction_naming_it(
    cls: type[Any], field: str, value: object
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        cls(**{field: value})
    assert caught.value.field == f"{cls.__name__}.{field}"


def test_the_defaults_and_ints_for_floats_are_accepted() -> None:
    assert Timeouts(read=30, upload=None).read == 30
    assert RetryPolicy(backoff_initial=1, max_retry_after=0).attempts == 4
    assert PollPolicy(interval=3, jitter=0).timeout == 600.0
