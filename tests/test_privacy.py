"""Privacy by default (issue 12): after a chaos run, no span, span event, metric, log record,
hook payload or error message holds the API key, a presigned URL's signature or credential,
a user label, a tag or a transcript; and a traceback formatted with its frame locals (as crash
reporters capture them) shows neither the key nor a signature."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from otel_support import Recorded

from helios_async import (
    BirthSex,
    HeliosClient,
    HeliosError,
    Hooks,
    ModelRunCreated,
    PollPolicy,
    RetryPolicy,
    Timeouts,
    User,
)
from helios_async._models import ModelRunRequest
from helios_async.testing import FaultPlan, Reset, ResetMidBody, Sandbox, sample_recording
from helios_async.testing._scoring import SIMULATED_TRANSCRIPT

SEEDS = (11, 12)
CHECKS = 16
TAG_VALUE = "cohort-TAGVALUE-9f3k"


async def _no_sleep(_seconds: float) -> None:
    """Backoffs and Retry-After are never slept for real."""


RETRY = RetryPolicy(
    attempts=3, backoff_initial=0.001, backoff_max=0.01, max_retry_after=0.05, sleep=_no_sleep
)
POLL = PollPolicy(first_interval=0.005, interval=0.01, timeout=5.0)
TIMEOUTS = Timeouts(connect=1.0, read=0.2, upload=5.0)


@pytest.fixture
def otel() -> Iterator[Recorded]:
    recorded = Recorded()
    yield recorded
    recorded.shutdown()


def _user(label: str) -> User:
    return User(user_label=label, date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.FEMALE)


class Payloads:
    """Every hook payload, as text."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, *payloads: Any) -> None:
        self.texts += [repr(payload) for payload in payloads] + [str(p) for p in payloads]

    def hooks(self) -> Hooks:
        return Hooks(
            on_request=self.add,
            on_response=self.add,
            on_retry=lambda event: self.add(event, event.error),
            on_poll=self.add,
            on_upload_progress=lambda sent, total: self.add(sent, total),
        )


def _secrets(sandbox: Sandbox, labels: list[str]) -> list[str]:
    """What must never show: the key, every signature and credential the storage host
    received (raw and decoded), the labels, the tag and the transcript."""
    found = [sandbox.api_key, TAG_VALUE, SIMULATED_TRANSCRIPT, *labels]
    for request in sandbox.requests:
        for key, value in re.findall(r"[?&]([^=&]+)=([^&]*)", request.url):
            if key.endswith(("Signature", "Credential")):
                found += [value, unquote(value)]
    return found


async def test_a_chaos_run_leaks_no_secret_or_personal_data(
    otel: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="helios_async")
    payloads = Payloads()
    errors: list[str] = []
    labels: list[str] = []
    signatures = 0
    for seed in SEEDS:
        async with Sandbox(faults=FaultPlan.chaos(seed=seed, rate=0.2)) as sandbox:
            client = HeliosClient(
                sandbox.api_key,
                base_url=sandbox.base_url,
                retry=RETRY,
                poll=POLL,
                timeouts=TIMEOUTS,
                hooks=payloads.hooks(),
                telemetry=otel.telemetry(poll_spans=seed % 2 == 0),
            )
            async with client:
                batch = [f"person-{seed}-{n:02d}-q7x" for n in range(CHECKS)]
                labels += batch
                outcomes = await asyncio.gather(
                    *(
                        client.run_wellness_check(
                            sample_recording(),
                            user=_user(label),
                            language="en-GB",
                            deadline=2.0,
                            tags={"cohort": TAG_VALUE},
                            expired_url_restarts=1,
                        )
                        for label in batch
                    ),
                    return_exceptions=True,
                )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    assert isinstance(outcome, HeliosError), repr(outcome)
                    errors += [str(outcome), repr(outcome)]
            secrets = _secrets(sandbox, labels)
            signatures += len(secrets) - 3 - len(labels)
            logs = [record.getMessage() for record in caplog.records]
            for where, texts in [
                ("span or metric", list(otel.all_text())),
                ("log record", logs),
                ("hook payload", payloads.texts),
                ("error message", errors),
            ]:
                for secret in secrets:
                    leaks = [text for text in texts if secret in text]
                    assert not leaks, f"{secret!r} in a {where}: {leaks[0]!r}"
    # The scan had something to find: the run went through every path.
    assert signatures > 0
    assert len(otel.spans()) > len(SEEDS) * CHECKS * 4
    assert errors, "the chaos plans made some checks fail"
    assert any("retrying" in record.getMessage() for record in caplog.records)
    assert any(event.count("REDACTED") for event in otel.all_text())


async def _failing(client: HeliosClient, **fields: Any) -> BaseException:
    """One check that fails; the exception, caught here so its traceback starts in a frame
    whose locals hold only the client (the caller's own variables are the caller's)."""
    try:
        await client.run_wellness_check(sample_recording(), **fields)
    except HeliosError as exc:
        return exc
    raise AssertionError("the check did not fail")


@pytest.mark.parametrize(
    ("route", "fault"),
    [
        ("upload", ResetMidBody()),  # a transport error under aiohttp, in the upload
        ("get", Reset(after_handler=True)),  # a poll cut off, after the upload
        ("create", Reset(after_handler=True)),  # an unknown outcome, before any upload
    ],
)
async def test_a_traceback_with_its_locals_shows_no_key_and_no_signature(
    otel: Recorded, route: str, fault: Any
) -> None:
    async with Sandbox(faults=FaultPlan(seed=5)) as sandbox:
        sandbox.faults.add(route, fault, rate=1.0)  # type: ignore[arg-type]
        async with HeliosClient(
            sandbox.api_key,
            base_url=sandbox.base_url,
            retry=RetryPolicy(attempts=2, sleep=_no_sleep),
            poll=POLL,
            timeouts=TIMEOUTS,
            telemetry=otel.telemetry(),
        ) as client:
            error = await _failing(client, user=_user("tb-user-label-31"), language="en-GB")
        secrets = _secrets(sandbox, [])
    exception = traceback.TracebackException.from_exception(error, capture_locals=True)
    text = "".join(exception.format())
    assert "_failing" in text  # the locals were captured, frames and all
    assert text.count(" = ") > 10
    for secret in secrets[:1] + secrets[3:]:  # the key and the signatures
        assert secret not in text, f"{secret!r} in the traceback"


def test_the_values_that_hold_secrets_redact_their_repr() -> None:
    created = ModelRunCreated(
        id="ddebd75b-99b3-42b4-ac65-5ce852c688e9",
        recording_upload_url="https://s.example/r/obj?X-Amz-Signature=abc123&X-Amz-Credential=AK",
    )
    assert "abc123" not in repr(created.recording_upload_url)
    assert "AK" not in repr(created.recording_upload_url)
    client = HeliosClient("hk-live-secret-key-42")
    assert "hk-live-secret-key-42" not in repr(client._operations)
    assert "hk-live-secret-key-42" not in repr(client._operations.endpoints.api_key)
    body = ModelRunRequest(user=_user("x"), language="en-GB")
    assert repr(body)  # the request body is the user's own data; it never reaches a span
