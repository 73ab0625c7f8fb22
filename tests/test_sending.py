"""helios_async._sending: the one send-and-retry path of every request, the upload included
(D2, D13, D14), on the in-memory transport with an injected sleep."""

from __future__ import annotations

import io
from typing import Any

import pytest

from helios_async import (
    ApiRequest,
    ApiResponse,
    ClientClosedError,
    Hooks,
    RetryPolicy,
    Timeouts,
    TransientAPIError,
    UploadError,
)
from helios_async._audio import AudioFormat
from helios_async._connection import Connection
from helios_async._decoding import decode_upload, raise_for_status
from helios_async._protocol import Endpoints
from helios_async._recording import PreparedRecording
from helios_async._sending import Sender
from helios_async.testing import MockHandler, MockTransport, mock_response

ENDPOINTS = Endpoints(base_url="https://helios.example", api_key="k", user_agent="ua")
STORAGE_URL = "https://storage.example/b/r.wav?X-Amz-Signature=s1gn"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def sender(
    handler: MockHandler, *, hooks: Hooks | None = None, sleeps: Sleeps | None = None
) -> tuple[Sender, MockTransport]:
    transport = MockTransport(handler)
    return (
        Sender(
            connection=Connection(transport, needs_open=False),
            timeouts=Timeouts(),
            retry=RetryPolicy(attempts=3, sleep=sleeps or Sleeps()),
            hooks=hooks or Hooks(),
        ),
        transport,
    )


def recording(data: bytes) -> PreparedRecording:
    return PreparedRecording(
        format=AudioFormat.WAV,
        size=len(data),
        duration=None,
        name="r",
        open=lambda: io.BytesIO(data),
    )


def judged(request: ApiRequest) -> Any:
    def judge(response: ApiResponse) -> int:
        raise_for_status(response, request)
        return response.status

    return judge


async def test_a_closed_connection_sends_nothing():
    send, transport = sender(lambda r: mock_response())
    await send.connection.close()
    request = ENDPOINTS.get_account()
    with pytest.raises(ClientClosedError):
        await send.send(request, judged(request))
    assert transport.requests == []


async def test_each_attempt_fires_request_response_and_retry_hooks_in_order():
    events: list[tuple[str, Any]] = []
    hooks = Hooks(
        on_request=lambda e: events.append(("request", e.attempt)),
        on_response=lambda e: events.append(("response", e.status)),
        on_retry=lambda e: events.append(("retry", type(e.error).__name__)),
    )
    answers = iter([mock_response(503), mock_response(200)])
    send, _ = sender(lambda r: next(answers), hooks=hooks)
    request = ENDPOINTS.get_account()
    assert await send.send(request, judged(request)) == 200
    assert events == [
        ("request", 1),
        ("response", 503),
        ("retry", "TransientAPIError"),
        ("request", 2),
        ("response", 200),
    ]


async def test_on_sent_is_called_for_every_attempt_that_goes_out():
    sent: list[int] = []
    answers = iter([mock_response(429, headers={"Retry-After": "0"}), mock_response(200)])
    send, _ = sender(lambda r: next(answers))
    request = ENDPOINTS.get_account()
    await send.send(request, judged(request), on_sent=lambda: sent.append(1))
    assert len(sent) == 2


async def test_a_retried_upload_resends_every_byte_and_restarts_its_progress():
    """D13, D14: the PUT is idempotent; its body is re-opened per attempt; progress counts
    this attempt's bytes."""
    data = b"RIFF" + bytes(600_000)
    progress: list[tuple[int, int]] = []
    answers = iter([mock_response(503), mock_response(200)])
    send, transport = sender(
        lambda r: next(answers),
        hooks=Hooks(on_upload_progress=lambda sent, total: progress.append((sent, total))),
    )
    request = ENDPOINTS.upload_recording(STORAGE_URL, recording(data))
    await send.send(request, lambda r: decode_upload(r, request, model_run_id=None))
    assert [r.body for r in transport.requests] == [data, data]
    finals = [i for i, (sent, total) in enumerate(progress) if sent == total == len(data)]
    assert len(finals) == 2  # each attempt reported the whole recording
    assert progress[finals[0] + 1][0] < len(data)  # the second started from zero


async def test_an_api_429_pauses_the_client_but_a_storage_429_does_not():
    """D13: a rate limit of the API pauses every request of the client (its cool-down);
    storage's limits its own PUT only."""
    sleeps = Sleeps()
    answers = iter(
        [mock_response(429, headers={"Retry-After": "5"}), mock_response(200)]
        + [mock_response(429, headers={"Retry-After": "7"})] * 3
    )
    send, _ = sender(lambda r: next(answers), sleeps=sleeps)
    api = ENDPOINTS.get_account()
    await send.send(api, judged(api))
    assert send.connection.cooldown_until > 0
    cooldown = send.connection.cooldown_until
    upload = ENDPOINTS.upload_recording(STORAGE_URL, recording(b"RIFF"))
    with pytest.raises(UploadError) as caught:
        await send.send(upload, lambda r: decode_upload(r, upload, model_run_id=None))
    assert caught.value.retry_after == 7.0
    assert send.connection.cooldown_until == cooldown  # storage set no cool-down


async def test_the_last_error_propagates_once_the_attempts_are_used_up():
    send, transport = sender(lambda r: mock_response(503))
    request = ENDPOINTS.get_account()
    with pytest.raises(TransientAPIError):
        await send.send(request, judged(request))
    assert len(transport.requests) == 3


@pytest.mark.parametrize("watched", [False, True], ids=["no-hook", "on_request"])
async def test_an_api_429_starts_the_cooldown_with_or_without_hooks(watched: bool) -> None:
    """An attempt nothing watches goes straight to the transport; it still starts the
    client-wide cool-down a 429 asks for, as one whose hooks fire does."""
    seen: list[int] = []
    hooks = Hooks(on_request=lambda e: seen.append(e.attempt)) if watched else None
    answers = iter([mock_response(429, headers={"Retry-After": "5"}), mock_response(200)])
    send, transport = sender(lambda r: next(answers), hooks=hooks)
    request = ENDPOINTS.get_account()
    assert await send.send(request, judged(request)) == 200
    assert send.connection.cooldown_until > 0
    assert len(transport.requests) == 2
    assert seen == ([1, 2] if watched else [])
