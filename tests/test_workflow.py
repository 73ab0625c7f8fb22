"""helios_async._workflow: one wellness check, create -> upload -> poll under one deadline
(helios-api.md §2.3 to §5, D13, D14), on the in-memory transport with injected sleeps."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from helios_async import (
    ApiRequest,
    ApiResponse,
    BirthSex,
    DeadlineExceededError,
    HeliosClient,
    InvalidInputError,
    ModelRunCreated,
    ModelRunFailedError,
    PollPolicy,
    RetryPolicy,
    UploadURLExpiredError,
    User,
)
from helios_async.testing import MockTransport, mock_response, sample_recording

RUN_IDS = ("ddebd75b-99b3-42b4-ac65-5ce852c688e9", "0f8e2d44-3c6b-4d2a-9a51-7b7f3f1c2e10")
UPLOAD = "https://storage.example/b/{}.ogg?X-Amz-Signature=s1gn"


def run(run_id: str, status: str, **fields: Any) -> dict[str, Any]:
    return {"id": run_id, "status": status, "createdAt": "2026-03-26T09:30:05+00:00", **fields}


OK_RESULTS = {
    "sections": [
        {
            "startSecs": 0,
            "finishSecs": 18.4,
            "transcript": "The North Wind and the Sun had a quarrel...",
            **{
                name: {"value": 0.33}
                for name in (
                    "mentalStrain",
                    "distress",
                    "stress",
                    "exhaustion",
                    "sleepPropensity",
                    "lowSelfEsteem",
                    "uniformDistress",
                    "uniformStress",
                    "uniformExhaustion",
                    "uniformSleepPropensity",
                    "uniformLowSelfEsteem",
                )
            },
        }
    ]
}


async def no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def user() -> User:
    return User(
        user_label="operator-1234", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.MALE
    )


class Api:
    """A scripted API: each create makes the next run id; uploads answer from ``uploads``;
    polls answer from ``polls`` per run id (the last answer repeats)."""

    def __init__(self) -> None:
        self.ids: Iterator[str] = iter(RUN_IDS)
        self.uploads: list[int] = []
        self.polls: dict[str, list[dict[str, Any]]] = {}
        self.on_upload: Callable[[], None] | None = None

    def __call__(self, request: ApiRequest) -> ApiResponse:
        if request.operation == "create_model_run":
            run_id = next(self.ids)
            return mock_response(json={"id": run_id, "recordingUploadUrl": UPLOAD.format(run_id)})
        if request.operation == "upload_recording":
            if self.on_upload is not None:
                self.on_upload()
            return mock_response(self.uploads.pop(0) if self.uploads else 200)
        run_id = request.url.rsplit("/", 1)[-1]
        answers = self.polls[run_id]
        return mock_response(json=answers.pop(0) if len(answers) > 1 else answers[0])


def client_for(api: Api) -> tuple[HeliosClient, MockTransport]:
    transport = MockTransport(api)
    client = HeliosClient(
        "key",
        base_url="https://helios.example",
        transport=transport,
        retry=RetryPolicy(sleep=no_sleep),
        poll=PollPolicy(sleep=no_sleep),
    )
    return client, transport


async def test_a_check_creates_uploads_and_polls_to_complete_ok():
    api = Api()
    api.polls[RUN_IDS[0]] = [
        run(RUN_IDS[0], "RUNNING"),
        run(RUN_IDS[0], "COMPLETE_OK", results=OK_RESULTS),
    ]
    seen: list[ModelRunCreated] = []
    client, transport = client_for(api)
    async with client:
        done = await client.run_wellness_check(
            sample_recording(), user=user(), language="en-GB", on_created=seen.append
        )
    assert done.succeeded and done.id == RUN_IDS[0]
    assert [c.id for c in seen] == [RUN_IDS[0]]
    assert [r.operation for r in transport.requests] == [
        "create_model_run",
        "upload_recording",
        "get_model_run",
        "get_model_run",
    ]


async def test_a_complete_error_run_is_a_model_run_failed_error():
    api = Api()
    api.polls[RUN_IDS[0]] = [run(RUN_IDS[0], "COMPLETE_ERROR", errorCode="ERR_RECORDING_TOO_SHORT")]
    client, _ = client_for(api)
    async with client:
        with pytest.raises(ModelRunFailedError) as caught:
            await client.run_wellness_check(sample_recording(), user=user(), language="en-GB")
    assert caught.value.model_run_id == RUN_IDS[0]


async def test_an_expired_upload_url_starts_over_with_a_new_run_once():
    """§4: "create a new model run"; the first run, never uploaded, is left CREATED."""
    api = Api()
    api.uploads = [403]
    api.polls[RUN_IDS[0]] = [run(RUN_IDS[0], "CREATED")]
    api.polls[RUN_IDS[1]] = [run(RUN_IDS[1], "COMPLETE_OK", results=OK_RESULTS)]
    client, transport = client_for(api)
    async with client:
        done = await client.run_wellness_check(sample_recording(), user=user(), language="en-GB")
    assert done.id == RUN_IDS[1]
    assert [r.operation for r in transport.requests].count("create_model_run") == 2


async def test_an_expired_url_after_a_stored_upload_does_not_bill_twice():
    """D13: a retried PUT meeting 403 after an earlier attempt was stored (its answer lost):
    the run already has its recording, so no second run is made."""
    api = Api()
    api.uploads = [403]
    api.polls[RUN_IDS[0]] = [
        run(RUN_IDS[0], "RUNNING", runAt="2026-03-26T09:31:10+00:00"),
        run(RUN_IDS[0], "COMPLETE_OK", results=OK_RESULTS),
    ]
    client, transport = client_for(api)
    async with client:
        done = await client.run_wellness_check(sample_recording(), user=user(), language="en-GB")
    assert done.id == RUN_IDS[0]
    assert [r.operation for r in transport.requests].count("create_model_run") == 1


async def test_no_restart_left_raises_the_expired_url_error():
    api = Api()
    api.uploads = [403]
    api.polls[RUN_IDS[0]] = [run(RUN_IDS[0], "CREATED")]
    client, _ = client_for(api)
    async with client:
        with pytest.raises(UploadURLExpiredError):
            await client.run_wellness_check(
                sample_recording(), user=user(), language="en-GB", expired_url_restarts=0
            )


async def test_a_deadline_that_runs_out_between_upload_and_poll_is_a_deadline_error(
    monkeypatch: pytest.MonkeyPatch,
):
    """One deadline, one clock: time running out after the upload ends the check with
    DeadlineExceededError in the poll phase, naming the run (it used to come out as
    InvalidInputError "got 0.0"). The upload "takes" a minute by moving the loop's clock."""
    loop = asyncio.get_running_loop()
    real_time = loop.time
    skipped = 0.0

    def skip_a_minute() -> None:
        nonlocal skipped
        skipped = 60.0

    api = Api()
    api.on_upload = skip_a_minute
    api.polls[RUN_IDS[0]] = [run(RUN_IDS[0], "RUNNING")]
    client, transport = client_for(api)
    monkeypatch.setattr(loop, "time", lambda: real_time() + skipped)
    async with client:
        with pytest.raises(DeadlineExceededError) as caught:
            await client.run_wellness_check(
                sample_recording(), user=user(), language="en-GB", deadline=30
            )
    error = caught.value
    assert not isinstance(error, InvalidInputError)
    assert (error.phase, error.model_run_id, error.timeout) == ("poll", RUN_IDS[0], 30)
    assert set(error.phase_seconds) == {"create", "upload", "poll"}
    assert [r.operation for r in transport.requests] == ["create_model_run", "upload_recording"]


@pytest.mark.parametrize("deadline", [0, -1, float("nan"), float("inf"), True, "30"])
async def test_an_unusable_deadline_is_refused_once_where_it_is_given(deadline):
    """The user's deadline is checked when given; nothing is sent."""
    api = Api()
    client, transport = client_for(api)
    async with client:
        with pytest.raises(InvalidInputError, match="deadline"):
            await client.run_wellness_check(
                sample_recording(), user=user(), language="en-GB", deadline=deadline
            )
    assert transport.requests == []
