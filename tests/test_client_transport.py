"""HeliosClient on the in-memory transport (``helios_async.testing.MockTransport``): every
call, the upload included, goes through one send path and one Transport; waits are slept by
injected sleeps, never for real (helios-api.md §2 to §5, D13, D14)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from helios_async import (
    ApiRequest,
    ApiResponse,
    BirthSex,
    HeliosClient,
    Hooks,
    InvalidInputError,
    PollPolicy,
    RateLimitError,
    RetryPolicy,
    Transport,
    User,
)
from helios_async.testing import MockTransport, mock_response

API_KEY = "hk-test-Sup3rS3cretKey-0123456789"
BASE_URL = "https://helios.example"
RUN_ID = "ddebd75b-99b3-42b4-ac65-5ce852c688e9"
UPLOAD_URL = "https://storage.example/b/run.wav?X-Amz-Signature=s1gn4ture&X-Amz-Expires=3600"
ACCOUNT = {"id": "a1b2c3d4-e5f6-7890-ab12-cd34ef567890", "features": []}
RUNNING = {"id": RUN_ID, "status": "RUNNING", "createdAt": "2026-03-26T09:30:05+00:00"}


class Sleeps:
    """An injected ``sleep``: records each wait in seconds and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would


def user() -> User:
    return User(
        user_label="operator-1234", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.MALE
    )


def client_on(
    handler: Callable[[ApiRequest], ApiResponse], sleeps: Sleeps | None = None, **options: Any
) -> tuple[HeliosClient, MockTransport]:
    sleeps = sleeps or Sleeps()
    transport = MockTransport(handler)
    client = HeliosClient(
        API_KEY,
        base_url=BASE_URL,
        transport=transport,
        retry=RetryPolicy(attempts=3, sleep=sleeps),
        poll=PollPolicy(sleep=sleeps),
        **options,
    )
    return client, transport


def test_the_mock_transport_is_a_transport():
    assert isinstance(MockTransport(lambda r: mock_response()), Transport)


async def test_a_call_is_one_api_request_with_the_key_and_the_transport_is_closed_on_exit():
    """§1.2: the request carries x-api-key; the client closes the transport it was given."""
    client, transport = client_on(lambda request: mock_response(json=ACCOUNT))
    async with client:
        account = await client.get_account()
    assert account.id == ACCOUNT["id"]
    [request] = transport.requests
    assert (request.operation, request.method, request.url) == (
        "get_account",
        "GET",
        f"{BASE_URL}/v1/account",
    )
    assert request.headers["x-api-key"] == API_KEY
    assert transport.closed
    assert "MockTransport transport" in repr(client)


async def test_a_session_and_a_transport_together_are_refused():
    import aiohttp

    async with aiohttp.ClientSession() as session:
        with pytest.raises(InvalidInputError, match="transport"):
            HeliosClient(API_KEY, session=session, transport=MockTransport(lambda r: None))  # type: ignore[arg-type,return-value]


async def test_a_retry_waits_the_backoff_through_the_injected_sleep():
    """D2: a 503 on a GET is retried after a jittered backoff, slept by the policy's sleep."""
    answers = iter([mock_response(503), mock_response(json=ACCOUNT)])
    sleeps = Sleeps()
    client, transport = client_on(lambda request: next(answers), sleeps)
    async with client:
        await client.get_account()
    assert len(transport.requests) == 2
    [wait] = sleeps.waits
    assert 0.0 <= wait <= RetryPolicy().backoff_initial


async def test_retry_after_is_waited_exactly_and_one_over_the_cap_is_raised_at_once():
    """D13: Retry-After (here 7 s, never slept for real) replaces the backoff; 120 s, over the
    60 s cap, is raised without waiting."""
    answers = iter(
        [
            mock_response(429, headers={"Retry-After": "7"}),
            mock_response(json=ACCOUNT),
            mock_response(429, headers={"retry-after": "120"}),
        ]
    )
    sleeps = Sleeps()
    client, transport = client_on(lambda request: next(answers), sleeps)
    async with client:
        await client.get_account()
        assert 7.0 in sleeps.waits
        sleeps.waits.clear()
        with pytest.raises(RateLimitError) as caught:
            await client.get_account()
    assert caught.value.retry_after == 120.0
    # at most the cool-down still in force, plus its jitter
    assert all(wait <= 7.0 + RetryPolicy().cooldown_jitter for wait in sleeps.waits)
    assert len(transport.requests) == 3


async def test_a_429_pauses_every_request_of_the_client_for_its_retry_after():
    """D13: one rate limit pauses all tasks sharing the client (the cool-down), instead of each
    hammering on; the pause is slept by the injected sleep, in the task that waits."""
    limited = asyncio.Event()
    log: list[tuple[asyncio.Task[Any] | None, str, float]] = []

    async def sleep(seconds: float) -> None:
        log.append((asyncio.current_task(), "sleep", seconds))
        await asyncio.sleep(0)

    def handler(request: ApiRequest) -> ApiResponse:
        log.append((asyncio.current_task(), request.operation, 0.0))
        if request.operation == "get_account" and not limited.is_set():
            limited.set()
            return mock_response(429, headers={"Retry-After": "30"})
        if request.operation == "get_account":
            return mock_response(json=ACCOUNT)
        return mock_response(json=RUNNING)

    client = HeliosClient(
        API_KEY,
        base_url=BASE_URL,
        transport=MockTransport(handler),
        retry=RetryPolicy(sleep=sleep),
    )
    async with client:
        account = asyncio.ensure_future(client.get_account())
        await limited.wait()
        await client.get_model_run(RUN_ID)  # another task's request, after the 429
        await account
    me = asyncio.current_task()
    mine = [(op, secs) for task, op, secs in log if task is me]
    assert mine[-1][0] == "get_model_run"
    assert mine[0][0] == "sleep"  # waited before sending
    assert 29.0 <= mine[0][1] <= 30.0 + RetryPolicy().cooldown_jitter
    assert sorted(op for _, op, _ in log if op != "sleep") == [
        "get_account",
        "get_account",
        "get_model_run",
    ]


async def test_the_upload_goes_through_the_same_path_with_exact_headers_and_no_key():
    """§4, D14: a PUT to the URL verbatim, Content-Type from the format, exact Content-Length,
    the recording's bytes, no key; progress hooks see every byte; a 503 is retried with the
    whole recording re-read."""
    from helios_async.testing import sample_recording

    data = sample_recording().read_bytes()
    answers = iter([mock_response(503), mock_response(200)])
    progress: list[tuple[int, int]] = []
    client, transport = client_on(
        lambda request: next(answers),
        hooks=Hooks(on_upload_progress=lambda sent, total: progress.append((sent, total))),
    )
    async with client:
        await client.upload_recording(UPLOAD_URL, data)
    first, second = transport.requests
    for request in (first, second):
        assert (request.operation, request.method, request.url) == (
            "upload_recording",
            "PUT",
            UPLOAD_URL,
        )
        assert request.headers["Content-Type"] == "audio/ogg"
        assert request.headers["Content-Length"] == str(len(data))
        assert "x-api-key" not in request.headers
        assert request.body == data
    assert progress[-1] == (len(data), len(data))


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "/bucket/run.wav?X-Amz-Signature=s1gn4ture",  # relative: no scheme, no host
        "ftp://storage.example/run.wav?X-Amz-Signature=s1gn4ture",
        "https:///run.wav?X-Amz-Signature=s1gn4ture",  # no host
        "https://[::1/run.wav?X-Amz-Signature=s1gn4ture",  # IPv6 host left open
        "https://storage.example:99999/run.wav?X-Amz-Signature=s1gn4ture",  # no such port
    ],
)
async def test_an_upload_url_that_is_no_http_url_is_refused_before_any_request(url: str):
    """A URL given by hand that the transport could not use is an InvalidInputError, sent
    nowhere and never retried (it used to be retried as a broken connection, or to escape as
    a bare ValueError); the message leaves the signature out."""
    from helios_async.testing import sample_recording

    sleeps = Sleeps()
    client, transport = client_on(lambda request: mock_response(200), sleeps)
    async with client:
        with pytest.raises(InvalidInputError) as caught:
            await client.upload_recording(url, sample_recording())
    assert caught.value.field == "recording_upload_url"
    assert "s1gn4ture" not in str(caught.value)
    assert transport.requests == []
    assert sleeps.waits == []


async def test_errors_never_show_the_user_or_password_of_the_base_url():
    """A base URL may carry credentials; an API error quotes the request's URL without them."""
    from helios_async import NotFoundError

    transport = MockTransport(lambda request: mock_response(404, json={"detail": "Not Found"}))
    client = HeliosClient(
        API_KEY, base_url="https://me:hunter2@helios.example", transport=transport
    )
    async with client:
        with pytest.raises(NotFoundError) as caught:
            await client.get_model_run(RUN_ID)
    assert "hunter2" not in str(caught.value)
    assert "me@" not in str(caught.value)
    assert "https://helios.example/v1/models/mental-wellness/" in str(caught.value)
    assert "hunter2" not in repr(client)


async def test_polling_pauses_are_slept_by_the_poll_policy():
    """§5: the wait backs off from first_interval towards interval between looks; the first
    look comes after a pause of at most first_interval * jitter, so waits started together
    do not all look at once."""
    answers = iter(
        [mock_response(json=RUNNING)] * 3
        + [
            mock_response(
                json=RUNNING | {"status": "COMPLETE_ERROR", "errorCode": "ERR_RECORDING_TOO_SHORT"}
            )
        ]
    )
    sleeps = Sleeps()
    client, transport = client_on(lambda request: next(answers), sleeps)
    async with client:
        run = await client.wait_for_model_run(RUN_ID)
    assert run.is_finished
    assert len(transport.requests) == 4
    first, *pauses = sleeps.waits
    policy = PollPolicy()
    assert 0 <= first <= policy.first_interval * policy.jitter
    assert len(pauses) == 3
    assert pauses[0] < pauses[1] < pauses[2]
