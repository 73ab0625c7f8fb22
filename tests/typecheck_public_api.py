"""The public API as a user's editor sees it: type-checked only, never run.

``mypy --strict tests/typecheck_public_api.py`` (and pyright) must pass. Every
``assert_type`` pins a type users rely on; every ``# type: ignore[code]`` marks a misuse the
types must keep refusing (under ``--strict`` an ignore that stops being needed is itself an
error). The name does not match ``test_*.py``, so pytest never collects it, and nothing here
runs at import time: the coroutines are defined, not awaited.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, assert_type

import aiohttp

import helios_async
from helios_async import (
    Account,
    ActivityRunCreated,
    AiohttpTransport,
    APIError,
    ApiRequest,
    ApiResponse,
    BirthSex,
    DeadlineExceededError,
    ErrorCode,
    HeliosClient,
    HeliosError,
    Hooks,
    InvalidInputError,
    ModelRun,
    ModelRunCreated,
    ModelRunFailedError,
    ModelRunStatus,
    PollPolicy,
    RateLimitError,
    RecordingBody,
    RecordingError,
    RecordingSource,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    RetryPolicy,
    Section,
    Sleep,
    Tag,
    TagsInput,
    Timeouts,
    Transport,
    UploadURLExpiredError,
    User,
    WellnessChecks,
    WellnessJob,
    WellnessOutcome,
)
from helios_async.testing import (
    MockTransport,
    RecordedRequest,
    Sandbox,
    mock_response,
    sample_recording,
)

USER = User(user_label="typed-user", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.MALE)


def configuration(session: aiohttp.ClientSession) -> HeliosClient:
    """Every constructor argument, and the policies read back."""

    def on_request(event: RequestEvent) -> None:
        assert_type(event.operation, str)
        assert_type(event.attempt, int)

    def on_response(event: ResponseEvent) -> None:
        assert_type(event.status, int)
        assert_type(event.elapsed, float)
        assert_type(event.request_id, str | None)

    def on_retry(event: RetryEvent) -> None:
        assert_type(event.delay, float)
        assert_type(event.error, BaseException)

    def on_poll(run: ModelRun) -> None:
        assert_type(run.status, ModelRunStatus)

    def on_upload_progress(sent: int, total: int) -> None:
        pass

    client = HeliosClient(
        "key",
        region="ca",  # or base_url="https://...", never both (refused)
        session=session,
        timeouts=Timeouts(connect=5.0, read=20.0, upload=120.0),
        retry=RetryPolicy(attempts=5, backoff_initial=0.2, backoff_max=4.0, total_timeout=30.0),
        poll=PollPolicy(interval=3.0, first_interval=1.0, timeout=300.0),
        legacy_get_path=False,
        hooks=Hooks(
            on_request=on_request,
            on_response=on_response,
            on_retry=on_retry,
            on_poll=on_poll,
            on_upload_progress=on_upload_progress,
        ),
        user_agent_suffix="my-app/1.0",
        connection_limit=50,
    )
    assert_type(client.base_url, str)
    assert_type(client.timeouts, Timeouts)
    assert_type(client.retry, RetryPolicy)
    assert_type(client.poll, PollPolicy)
    assert_type(client.hooks, Hooks)
    assert_type(RetryPolicy.disabled(), RetryPolicy)
    view = client.with_options(poll=PollPolicy(timeout=30.0), retry=RetryPolicy.disabled())
    assert_type(view, HeliosClient)

    HeliosClient(region=1)  # type: ignore[arg-type]
    Hooks(on_upload_progress=on_poll)  # type: ignore[arg-type]
    client.with_options(timeout=3.0)  # type: ignore[call-arg]
    # A misspelt name is refused: the lazy ``__getattr__`` is hidden from type checkers.
    print(helios_async.HeliosClinet)  # type: ignore[attr-defined]
    return client


async def one_check(recording: Path) -> float:
    """The quick start, step by step and in one call."""
    async with HeliosClient() as client:
        assert_type(client, HeliosClient)
        assert_type(await client.get_account(), Account)
        created = await client.create_model_run(
            user=USER,
            language="en-GB",
            accent=None,
            sleep_time=dt.datetime(2026, 3, 25, 23, 10),
            wake_time=dt.datetime(2026, 3, 26, 6, 45),
            recording_time=dt.datetime(2026, 3, 26, 9, 30),
            tags={"site": "depot-7"},
            delete_data=True,
            data_to_delete=["recordings"],
        )
        assert_type(created, ModelRunCreated)
        assert_type(created.id, str)
        assert_type(created.recording_upload_url, str)
        assert_type(await client.upload_recording(created, recording), None)
        await client.upload_recording(created.recording_upload_url, b"RIFF....WAVE")
        with recording.open("rb") as stream:
            await client.upload_recording(created, stream, check_duration=False)
        await client.upload_recording(created, io.BytesIO(b"RIFF"))
        run = await client.wait_for_model_run(created.id, timeout=60.0)
        assert_type(run, ModelRun)
        assert_type(await client.get_model_run(run.id), ModelRun)
        activity = await client.create_activity_run(user=USER, language="en-GB")
        assert_type(activity, ActivityRunCreated)
        assert_type(activity.activity_link, str)

        async def on_created(created: ModelRunCreated) -> None:
            pass

        run = await client.run_wellness_check(
            recording,
            user=USER,
            language="en-GB",
            deadline=300.0,
            on_created=on_created,
            tags=[Tag(name="shift", value="early"), ("site", "depot-7")],
        )
        await client.get_model_run(123)  # type: ignore[arg-type]
    return scores_of(run)


def scores_of(run: ModelRun) -> float:
    """Reading a run: statuses, timestamps, results and the raw payload."""
    assert_type(run.id, str)
    assert_type(run.status, ModelRunStatus)
    assert_type(run.created_at, dt.datetime | None)
    assert_type(run.completed_at, dt.datetime | None)
    assert_type(run.warnings, tuple[str, ...])
    assert_type(run.error_code, ErrorCode | None)
    assert_type(run.error_reason, str | None)
    assert_type(run.raw, Mapping[str, Any])
    assert_type(run.is_finished, bool)
    assert_type(run.succeeded, bool)
    assert_type(run.to_dict(), dict[str, Any])  # JSON-ready: json.dumps(run.to_dict())
    if run.status is ModelRunStatus.COMPLETE_ERROR and run.error_code is not None:
        assert_type(run.error_code.is_known, bool)
    section = run.section
    assert_type(section, Section | None)
    if section is None:
        return 0.0
    assert_type(section.start_secs, float)
    assert_type(section.transcript, str)
    assert_type(section.scores, dict[str, float])
    assert_type(section.to_dict(), dict[str, Any])
    return section.stress + section.uniform_stress + section.mental_strain


async def errors(client: HeliosClient, recording: Path) -> str:
    """The error tree: each branch narrows to its attributes."""
    try:
        await client.run_wellness_check(recording, user=USER, language="en-GB", deadline=60.0)
    except RecordingError as exc:
        assert_type(exc.field, str)
        assert_type(exc.error_code, ErrorCode | None)
        return exc.rule
    except InvalidInputError as exc:
        as_value_error: ValueError = exc  # InvalidInputError is a ValueError
        return exc.field + str(as_value_error)
    except ModelRunFailedError as exc:
        assert_type(exc.run, ModelRun)
        assert_type(exc.error_code, ErrorCode | None)
        assert_type(exc.error_reason, str | None)
        return exc.model_run_id
    except DeadlineExceededError as exc:
        as_timeout: TimeoutError = exc  # every DeadlineExceededError is a TimeoutError
        assert_type(exc.phase, str)
        assert_type(exc.timeout, float)
        assert_type(exc.phase_seconds, dict[str, float])
        assert_type(exc.model_run_id, str | None)
        assert_type(exc.last_run, ModelRun | None)
        return exc.phase or str(as_timeout)
    except UploadURLExpiredError as exc:
        assert_type(exc.status, int)
        return exc.model_run_id or ""
    except RateLimitError as exc:
        assert_type(exc.retry_after, float | None)
        return str(exc.retry_after)
    except APIError as exc:
        assert_type(exc.status, int)
        assert_type(exc.body, bytes)
        assert_type(exc.request_id, str | None)
        assert_type(exc.detail, str)
        assert_type(exc.is_transient, bool)
        return exc.detail
    except HeliosError as exc:
        return str(exc)
    return "ok"


async def fan_out(client: HeliosClient, recordings: list[Path]) -> list[str]:
    """Many checks: typed jobs in, typed outcomes out."""
    jobs = [
        WellnessJob(recording=path, user=USER, language="en-GB", key=n, deadline=600.0)
        for n, path in enumerate(recordings)
    ]

    def on_created(job: WellnessJob, created: ModelRunCreated) -> None:
        pass

    done: list[str] = []
    checks = client.run_wellness_checks(jobs, concurrency=8, on_created=on_created)
    assert_type(checks, WellnessChecks)
    async with checks as outcomes:
        async for outcome in outcomes:
            assert_type(outcome, WellnessOutcome)
            assert_type(outcome.ok, bool)
            assert_type(outcome.error, HeliosError | None)
            assert_type(outcome.model_run_id, str | None)
            assert_type(outcome.elapsed, float)
            if outcome.ok:
                assert_type(outcome.result(), ModelRun)
            done.append(str(outcome.key))
    assert_type(checks.finished, int)
    return done


async def fan_out_as_the_readme_does(client: HeliosClient, recordings: list[Path]) -> None:
    """The README's fan-out loop: ``run`` is narrowed by its own test, not by ``ok``."""
    jobs = (WellnessJob(recording=p, user=USER, language="en-GB", key=p.name) for p in recordings)
    async with client.run_wellness_checks(jobs, concurrency=20) as outcomes:
        async for outcome in outcomes:
            if outcome.run is not None and outcome.ok:
                assert_type(outcome.run, ModelRun)
                assert_type(outcome.run.section, Section | None)
            else:
                assert_type(outcome.error, HeliosError | None)
            if outcome.ok:
                # `ok` is a property: it cannot narrow `run` for the type checker.
                print(outcome.run.status)  # type: ignore[union-attr]


async def with_the_sandbox() -> int:
    """``helios_async.testing`` as a user's test uses it."""
    path = sample_recording()
    assert_type(path, Path)
    async with Sandbox(processing_delay=0.5, upload_url_ttl=60.0) as sandbox:
        assert_type(sandbox, Sandbox)
        assert_type(sandbox.base_url, str)
        assert_type(sandbox.api_key, str)
        sandbox.set_outcome("typed-user", "ERR_INTERNAL")
        sandbox.processing_delay = 0.0
        async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url) as client:
            await client.run_wellness_check(path, user=USER, language="en-GB")
        requests = sandbox.requests
        assert_type(requests, list[RecordedRequest])
        assert_type(requests[0].status, int | None)
        sandbox.set_outcome("typed-user", 3)  # type: ignore[arg-type]
        return sandbox.runs_created("typed-user")


async def with_the_in_memory_transport() -> Account:
    """``MockTransport``: a handler answers each request; policies sleep through injection."""

    def handler(request: ApiRequest) -> ApiResponse:
        assert_type(request.operation, str)
        assert_type(request.body, bytes | RecordingBody | None)
        return mock_response(200, json={"id": "acc", "features": []})

    async def no_sleep(seconds: float) -> None:
        return None

    sleep: Sleep = no_sleep
    transport: Transport = MockTransport(handler)
    async with HeliosClient(
        "key",
        transport=transport,
        retry=RetryPolicy(sleep=sleep),
        poll=PollPolicy(sleep=no_sleep),
    ) as client:
        client.poll = PollPolicy()  # type: ignore[misc]
        return await client.get_account()


def aliases(recording: RecordingSource, tags: TagsInput) -> None:
    """The aliases public signatures use are importable for users' own annotations."""
    AiohttpTransport(connection_limit=10)
    MockTransport(lambda request: mock_response(json={}))


assert_type(helios_async.__version__, str)
