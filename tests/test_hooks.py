"""Hooks against real HTTP: a whole wellness check on the sandbox fires them in the order the
``Hooks`` docstring documents, retries show up between attempts, and ``with_options`` views
keep their own hooks and policies on the parent's session."""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import re
import struct
import uuid
import wave
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from helios_async import (
    BirthSex,
    ClientClosedError,
    HeliosClient,
    HookError,
    Hooks,
    InvalidInputError,
    ModelRun,
    ModelRunStatus,
    PollPolicy,
    RateLimitError,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    RetryPolicy,
    Telemetry,
    TransientAPIError,
    UploadError,
    User,
)
from helios_async._recording import CHUNK_BYTES
from helios_async.testing import Sandbox

FAST_POLL = PollPolicy(first_interval=0.01, interval=0.02, timeout=10.0)


async def no_sleep(seconds: float) -> None:
    """The injected sleep of retries: backoffs are never slept for real here."""


FAST_RETRY = RetryPolicy(
    attempts=3, backoff_initial=0.001, backoff_max=0.002, total_timeout=5, sleep=no_sleep
)
USER = User(user_label="hooks-user", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.FEMALE)
CHUNK = CHUNK_BYTES  # the client's upload chunk, bytes


def tone_wav(seconds: float = 12.0, rate: int = 22_050) -> bytes:
    """A mono 16-bit WAV of a quiet warble: not silence, long enough, and > 2 upload chunks."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        sample = 8000 * math.sin(2 * math.pi * (220 + 40 * math.sin(n / 3000)) * n / rate)
        frames += struct.pack("<h", int(sample))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


RECORDING = tone_wav()


class Recorder:
    """Every hook call, in order, as ``(kind, payload)``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def hooks(self) -> Hooks:
        return Hooks(
            on_request=lambda e: self.events.append(("request", e)),
            on_response=lambda e: self.events.append(("response", e)),
            on_retry=lambda e: self.events.append(("retry", e)),
            on_poll=lambda run: self.events.append(("poll", run)),
            on_upload_progress=lambda sent, total: self.events.append(("progress", (sent, total))),
        )

    def shape(self) -> str:
        """The events as letters: Q request, R response, T retry, O poll, P progress."""
        letters = {"request": "Q", "response": "R", "retry": "T", "poll": "O", "progress": "P"}
        return "".join(letters[kind] for kind, _ in self.events)

    def of(self, kind: str) -> list[Any]:
        return [payload for k, payload in self.events if k == kind]


class FlakyProxy:
    """A tiny aiohttp.web app in front of the sandbox's API host. Each planned fault
    ``(method, path prefix, status, headers)`` answers the first matching request once;
    everything else is forwarded unchanged."""

    def __init__(self, upstream: str, faults: list[tuple[str, str, int, dict[str, str]]]) -> None:
        self.upstream = upstream
        self.faults = list(faults)
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> FlakyProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._session is not None and self._runner is not None
        await self._session.close()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        for fault in self.faults:
            method, prefix, status, headers = fault
            if request.method == method and request.path.startswith(prefix):
                self.faults.remove(fault)
                return web.json_response({"detail": "injected"}, status=status, headers=headers)
        assert self._session is not None
        async with self._session.request(
            request.method,
            self.upstream + request.rel_url.raw_path_qs,
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            data=await request.read(),
        ) as upstream:
            body = await upstream.read()
            keep = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")
            }
            return web.Response(body=body, status=upstream.status, headers=keep)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(processing_delay=0.1) as server:
        yield server


def is_uuid(text: str | None) -> bool:
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True


async def test_a_wellness_check_fires_every_hook_in_the_documented_order(
    sandbox: Sandbox,
) -> None:
    """The ``Hooks`` docstring: create request/response; upload request, progress per chunk,
    response; then per poll request, response, poll; no retry on a clean run."""
    recorder = Recorder()
    async with HeliosClient(
        sandbox.api_key,
        base_url=sandbox.base_url,
        poll=FAST_POLL,
        retry=FAST_RETRY,
        hooks=recorder.hooks(),
    ) as client:
        run = await client.run_wellness_check(RECORDING, user=USER, language="en-GB")

    chunks = math.ceil(len(RECORDING) / CHUNK)
    assert chunks >= 2  # so the progress hook is seen more than once
    assert re.fullmatch(rf"QR QP{{{chunks}}}R (QRO)+".replace(" ", ""), recorder.shape()), (
        recorder.shape()
    )

    requests: list[RequestEvent] = recorder.of("request")
    responses: list[ResponseEvent] = recorder.of("response")
    assert [e.operation for e in requests] == ["create_model_run", "upload_recording"] + [
        "get_model_run"
    ] * (len(requests) - 2)
    assert [(q.operation, q.method, q.url, q.attempt) for q in requests] == [
        (r.operation, r.method, r.url, r.attempt) for r in responses
    ]
    assert all(e.attempt == 1 for e in requests)
    assert [e.method for e in requests[:3]] == ["POST", "PUT", "GET"]
    assert requests[0].url == f"{sandbox.base_url}/v1/models/mental-wellness"
    assert requests[1].url.startswith(sandbox.storage_url)
    assert requests[1].url.endswith("?<redacted>")  # the presigned signature never shows
    assert requests[2].url == f"{sandbox.base_url}/v1/models/mental-wellness/{run.id}"
    assert all(e.status == 200 and e.elapsed >= 0 for e in responses)

    # Every API response carries the sandbox's request id; each one is fresh.
    api_ids = [e.request_id for e in responses if e.operation != "upload_recording"]
    assert all(is_uuid(rid) for rid in api_ids)
    assert len(set(api_ids)) == len(api_ids)

    progress: list[tuple[int, int]] = recorder.of("progress")
    assert {total for _, total in progress} == {len(RECORDING)}
    sent = [s for s, _ in progress]
    assert sent == sorted(set(sent)) and sent[0] == CHUNK
    assert sent[-1] == len(RECORDING)  # the whole recording, in bytes

    polled: list[ModelRun] = recorder.of("poll")
    assert all(p.id == run.id for p in polled)
    assert [p.is_finished for p in polled] == [False] * (len(polled) - 1) + [True]
    assert run.status is ModelRunStatus.COMPLETE_OK
    # on_poll is the caller's own code: it sees the run as decoded, label and transcript.
    assert polled[-1] == run and polled[-1].user_label == USER.user_label
    assert recorder.of("retry") == []


@pytest.mark.parametrize("include_labels", [False, True])
async def test_on_poll_gets_the_run_as_decoded_whatever_the_telemetry(
    sandbox: Sandbox, include_labels: bool
) -> None:
    """``Telemetry(include_labels=...)`` governs what leaves the process (spans, metrics),
    not what the caller's own hook is handed: the label and transcripts are there."""
    polled: list[ModelRun] = []
    async with HeliosClient(
        sandbox.api_key,
        base_url=sandbox.base_url,
        poll=FAST_POLL,
        hooks=Hooks(on_poll=polled.append),
        telemetry=Telemetry(include_labels=include_labels),
    ) as client:
        run = await client.run_wellness_check(RECORDING, user=USER, language="en-GB")
    assert polled[-1] == run
    assert polled[-1].user_label == USER.user_label
    assert polled[-1].section is not None and polled[-1].section.transcript != ""
    assert polled[-1].raw == run.raw != {}


async def test_a_failed_poll_fires_retry_between_its_attempts(sandbox: Sandbox) -> None:
    """A 503 to a poll: response(503) then on_retry, then the second attempt, and only then
    on_poll; the error on the event keeps the 503's request id."""
    recorder = Recorder()
    fault = ("GET", "/v1/models/mental-wellness/", 503, {"x-request-id": "flaky-503"})
    async with (
        FlakyProxy(sandbox.base_url, [fault]) as proxy,
        HeliosClient(
            sandbox.api_key,
            base_url=proxy.url,
            poll=FAST_POLL,
            retry=FAST_RETRY,
            hooks=recorder.hooks(),
        ) as client,
    ):
        run = await client.run_wellness_check(RECORDING, user=USER, language="en-GB")

    assert run.succeeded
    assert re.fullmatch(r"QRQP+RQRTQRO(QRO)*", recorder.shape()), recorder.shape()
    (retry,) = recorder.of("retry")
    assert isinstance(retry, RetryEvent)
    assert (retry.operation, retry.attempt) == ("get_model_run", 1)
    assert 0 <= retry.delay <= FAST_RETRY.backoff_initial
    assert isinstance(retry.error, TransientAPIError)
    assert (retry.error.status, retry.error.request_id) == (503, "flaky-503")
    first_poll = [e for e in recorder.of("response") if e.operation == "get_model_run"][:2]
    assert [(e.status, e.attempt, e.request_id) for e in first_poll] == [
        (503, 1, "flaky-503"),
        (200, 2, first_poll[1].request_id),
    ]
    assert is_uuid(first_poll[1].request_id)


async def test_a_rate_limited_create_is_retried_after_exactly_its_retry_after(
    sandbox: Sandbox,
) -> None:
    """D13: a 429 proves the create was not acted on, so it is retried; its Retry-After of 0 s
    asks for no wait, so the backoff applies (RFC 9110 has no "retry at once"); one run is
    created."""
    recorder = Recorder()
    fault = ("POST", "/v1/models/mental-wellness", 429, {"Retry-After": "0"})
    async with (
        FlakyProxy(sandbox.base_url, [fault]) as proxy,
        HeliosClient(
            sandbox.api_key, base_url=proxy.url, retry=FAST_RETRY, hooks=recorder.hooks()
        ) as client,
    ):
        created = await client.create_model_run(user=USER, language="en-GB")

    assert recorder.shape() == "QRTQR"
    (retry,) = recorder.of("retry")
    assert isinstance(retry.error, RateLimitError)
    assert (retry.operation, retry.error.retry_after) == ("create_model_run", 0)
    assert 0.0 <= retry.delay <= FAST_RETRY.backoff_initial
    assert [e.status for e in recorder.of("response")] == [429, 200]
    assert sandbox.runs_created(USER.user_label) == 1
    assert is_uuid(created.id)


async def test_a_retried_upload_reports_its_progress_from_zero_again() -> None:
    """Each upload attempt resends every byte, so progress restarts and reaches the total
    again; on_retry sits between the two attempts."""
    seen: list[int] = []

    async def storage(request: web.Request) -> web.Response:
        seen.append(len(await request.read()))
        return web.Response(status=503 if len(seen) == 1 else 200)

    app = web.Application(client_max_size=len(RECORDING) + 1)
    app.router.add_put("/bucket/run.wav", storage)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/bucket/run.wav?X-Signature=s3cr3t"
    recorder = Recorder()
    try:
        async with HeliosClient(
            "key", base_url="http://127.0.0.1:9", retry=FAST_RETRY, hooks=recorder.hooks()
        ) as client:
            await client.upload_recording(url, RECORDING)
    finally:
        await runner.cleanup()

    assert seen == [len(RECORDING), len(RECORDING)]
    chunks = math.ceil(len(RECORDING) / CHUNK)
    assert re.fullmatch(rf"QP{{{chunks}}}RTQP{{{chunks}}}R", recorder.shape()), recorder.shape()
    sent = [s for s, _ in recorder.of("progress")]
    assert sent[:chunks] == sent[chunks:]
    assert sent[chunks - 1] == len(RECORDING)
    (retry,) = recorder.of("retry")
    assert isinstance(retry.error, UploadError) and retry.error.status == 503
    assert all("s3cr3t" not in e.url for e in recorder.of("request"))


async def test_an_exception_in_a_hook_reaches_the_caller_unretried(sandbox: Sandbox) -> None:
    """The ``_hooks`` module docstring: a broken hook is never silent (a HookError naming it,
    its exception chained), and it is not a transient failure to retry."""
    calls: list[RequestEvent] = []

    class HookBroke(Exception):
        pass

    def on_request(event: RequestEvent) -> None:
        calls.append(event)
        raise HookBroke(event.operation)

    async with HeliosClient(
        sandbox.api_key, base_url=sandbox.base_url, retry=FAST_RETRY, hooks=Hooks()
    ) as client:
        broken = client.with_options(hooks=Hooks(on_request=on_request))
        with pytest.raises(HookError, match="on_request hook raised during get_account") as caught:
            await broken.get_account()
        assert isinstance(caught.value.__cause__, HookBroke)
        assert len(calls) == 1
        assert (await client.get_account()).id  # the parent's hooks are untouched


async def test_a_view_keeps_its_own_hooks_and_policies_on_the_parents_session(
    sandbox: Sandbox,
) -> None:
    """``with_options``: the view's policies and hooks apply to the view only, it inherits
    what it does not override, its ``aclose()`` closes nothing, and closing the parent
    closes the session under the view too."""
    parent_log, view_log = Recorder(), Recorder()
    fault: tuple[str, str, int, dict[str, str]] = ("GET", "/v1/account", 503, {})
    async with FlakyProxy(sandbox.base_url, [fault, fault]) as proxy:
        client = HeliosClient(
            sandbox.api_key, base_url=proxy.url, retry=FAST_RETRY, hooks=parent_log.hooks()
        )
        async with client:
            view = client.with_options(retry=RetryPolicy.disabled(), hooks=view_log.hooks())
            inherits = client.with_options(poll=PollPolicy(timeout=5.0))
            assert (view.retry.attempts, client.retry) == (1, FAST_RETRY)
            assert (inherits.retry, inherits.hooks, inherits.timeouts) == (
                client.retry,
                client.hooks,
                client.timeouts,
            )
            assert (inherits.poll.timeout, client.poll.timeout) == (5.0, PollPolicy().timeout)

            with pytest.raises(TransientAPIError):
                await view.get_account()  # the view does not retry ...
            assert view_log.shape() == "QR"
            assert parent_log.events == []  # ... and the parent's hooks saw nothing

            await client.get_account()  # the parent retries through the second 503
            assert parent_log.shape() == "QRTQR"
            assert view_log.shape() == "QR"

            await view.aclose()
            await inherits.aclose()
            assert (await client.get_account()).id  # a view's close closed nothing
            assert (await view.get_account()).id
        with pytest.raises(ClientClosedError):
            await view.get_account()  # the parent's close did


# -- what a hook may be ---------------------------------------------------------------------


async def _async_hook(_event: object) -> None:
    """A coroutine function: called inline it would only make a coroutine, never awaited."""


class _AsyncCallable:
    async def __call__(self, _event: object) -> None:
        """An object whose call is a coroutine: the same mistake."""


@pytest.mark.parametrize(
    "name", ["on_request", "on_response", "on_retry", "on_poll", "on_upload_progress"]
)
@pytest.mark.parametrize(
    ("hook", "rule"),
    [
        (_async_hook, "not a coroutine function"),
        (_AsyncCallable(), "not a coroutine function"),
        (5, "must be a function, not int"),
        ("print", "must be a function, not str"),
    ],
)
def test_a_hook_that_is_async_or_not_callable_is_refused_when_the_hooks_are_made(
    name: str, hook: object, rule: str
) -> None:
    """Hooks are called inline and never awaited: a coroutine function (which would be
    skipped, with only a RuntimeWarning) and a value that is not callable are refused at
    once, the error naming the hook."""
    with pytest.raises(InvalidInputError, match=rule) as caught:
        Hooks(**{name: hook})  # type: ignore[arg-type]
    assert caught.value.field == f"hooks.{name}"


def test_plain_callables_are_accepted_as_hooks() -> None:
    seen: list[object] = []
    hooks = Hooks(on_request=seen.append, on_poll=functools.partial(seen.append))
    assert hooks.on_request is not None and hooks.on_poll is not None


@pytest.mark.parametrize("kind", ["function", "coroutine function"])
async def test_an_on_created_that_raises_is_a_hook_error_carrying_the_run_id(
    sandbox: Sandbox, kind: str
) -> None:
    """Like every other hook's failure: HookError, the exception its cause, the run it was
    handed on ``model_run_id``; the check stops there, nothing uploaded."""
    created: list[str] = []

    def broken(run: Any) -> None:
        created.append(run.id)
        raise RuntimeError("db down")

    async def broken_async(run: Any) -> None:
        broken(run)

    async with HeliosClient(
        sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL, retry=FAST_RETRY
    ) as client:
        with pytest.raises(HookError) as caught:
            await client.run_wellness_check(
                RECORDING,
                user=USER,
                language="en-GB",
                on_created=broken if kind == "function" else broken_async,
            )
    error = caught.value
    assert error.hook == "on_created" and error.model_run_id == created[0]
    assert isinstance(error.__cause__, RuntimeError)
    assert not [r for r in sandbox.requests if r.host == "storage"]
