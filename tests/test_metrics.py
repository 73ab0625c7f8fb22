"""``_metrics``: the client's instruments, read back from the SDK's in-memory reader. Every
attribute is low-cardinality: never a run id, a label or a URL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from otel_support import Recorded
from recordings import recording, silence_wav

from helios_async import (
    BirthSex,
    DeadlineExceededError,
    HeliosClient,
    ModelRunCreated,
    ModelRunFailedError,
    RecordingError,
    Telemetry,
    User,
)
from helios_async.testing import (
    FAST_POLL,
    FAST_RETRY,
    ErrorStatus,
    FaultPlan,
    Sandbox,
    sample_recording,
)

USER = User(user_label="metric-user", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.MALE)
GET_TEMPLATE = "/v1/models/mental-wellness/{model_run_id}"


@pytest.fixture
def otel() -> Iterator[Recorded]:
    recorded = Recorded()
    yield recorded
    recorded.shutdown()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(processing_delay=0.05) as sandbox:
        yield sandbox


async def _check(
    sandbox: Sandbox, telemetry: Telemetry, source: Any = None, **options: Any
) -> None:
    async with HeliosClient(
        sandbox.api_key,
        base_url=sandbox.base_url,
        poll=FAST_POLL,
        retry=FAST_RETRY,
        telemetry=telemetry,
    ) as client:
        await client.run_wellness_check(
            sample_recording() if source is None else source,
            user=USER,
            language="en-GB",
            **options,
        )


def _by(points: list[Any], key: str) -> dict[Any, Any]:
    return {point.attributes.get(key): point for point in points}


async def test_each_http_request_is_one_duration_by_method_template_and_status(
    sandbox: Sandbox, otel: Recorded
) -> None:
    await _check(sandbox, otel.telemetry())
    points = _by(otel.points("http.client.request.duration"), "url.template")
    gets = len([r for r in sandbox.requests if r.method == "GET"])
    assert set(points) == {
        "/v1/models/mental-wellness",
        "/helios-sandbox/recordings/{object_key}",
        GET_TEMPLATE,
    }
    assert points[GET_TEMPLATE].count == gets
    assert points["/v1/models/mental-wellness"].count == 1
    post = dict(points["/v1/models/mental-wellness"].attributes)
    assert post == {
        "http.request.method": "POST",
        "http.response.status_code": 200,
        "server.address": "127.0.0.1",
        "server.port": int(sandbox.base_url.rpartition(":")[2]),
        "url.template": "/v1/models/mental-wellness",
    }
    assert all(point.sum >= 0 for point in points.values())  # seconds


async def test_a_failed_attempt_is_counted_with_its_error_type(
    sandbox: Sandbox, otel: Recorded
) -> None:
    sandbox.faults = FaultPlan(seed=2)
    sandbox.faults.add("get", ErrorStatus(503), times=2)
    await _check(sandbox, otel.telemetry())
    points = otel.points("http.client.request.duration")
    failed = [p for p in points if p.attributes.get("error.type") == "503"]
    assert len(failed) == 1 and failed[0].count == 2
    assert failed[0].attributes["http.response.status_code"] == 503


async def test_a_check_records_its_duration_phases_polls_and_processing_time(
    sandbox: Sandbox, otel: Recorded
) -> None:
    await _check(sandbox, otel.telemetry())
    (check,) = otel.points("helios.check.duration")
    assert dict(check.attributes) == {"helios.check.outcome": "complete_ok"}
    assert check.count == 1 and check.sum > 0
    phases = _by(otel.points("helios.check.phase.duration"), "helios.check.phase")
    assert set(phases) == {"create", "upload", "wait"}
    assert all(p.count == 1 and p.sum <= check.sum for p in phases.values())
    (polls,) = otel.points("helios.check.polls")
    assert polls.sum == len([r for r in sandbox.requests if r.method == "GET"])
    (processing,) = otel.points("helios.model_run.processing.duration")
    assert dict(processing.attributes) == {"helios.model_run.status": "COMPLETE_OK"}
    assert processing.count == 1 and processing.sum >= 0.05  # the sandbox's processing delay
    (active,) = otel.points("helios.check.active")
    assert active.value == 0


async def test_checks_in_flight_count_up_then_down(sandbox: Sandbox, otel: Recorded) -> None:
    seen: list[int] = []

    def on_created(_created: ModelRunCreated) -> None:
        (active,) = otel.points("helios.check.active")
        seen.append(active.value)

    async with HeliosClient(
        sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL, telemetry=otel.telemetry()
    ) as client:
        await asyncio.gather(
            *(
                client.run_wellness_check(
                    sample_recording(), user=USER, language="en-GB", on_created=on_created
                )
                for _ in range(3)
            )
        )
    assert max(seen) >= 1
    (active,) = otel.points("helios.check.active")
    assert active.value == 0


@pytest.mark.parametrize(
    ("source", "options", "error", "outcome"),
    [
        (silence_wav(), {}, ModelRunFailedError, "complete_error"),
        (recording("short.wav"), {}, RecordingError, "rejected"),
    ],
)
async def test_a_check_that_fails_is_counted_by_outcome(
    sandbox: Sandbox,
    otel: Recorded,
    source: Any,
    options: dict[str, Any],
    error: type[Exception],
    outcome: str,
) -> None:
    with pytest.raises(error):
        await _check(sandbox, otel.telemetry(), source, **options)
    (check,) = otel.points("helios.check.duration")
    assert check.attributes["helios.check.outcome"] == outcome
    assert check.attributes["error.type"] == f"helios_async.{error.__name__}"
    (active,) = otel.points("helios.check.active")
    assert active.value == 0


async def test_a_deadline_and_a_cancellation_are_outcomes_too(
    sandbox: Sandbox, otel: Recorded
) -> None:
    sandbox.processing_delay = 60.0
    with pytest.raises(DeadlineExceededError):
        await _check(sandbox, otel.telemetry(), deadline=0.3)
    created = asyncio.Event()
    async with HeliosClient(
        sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL, telemetry=otel.telemetry()
    ) as client:
        task = asyncio.create_task(
            client.run_wellness_check(
                sample_recording(),
                user=USER,
                language="en-GB",
                on_created=lambda _created: created.set(),
            )
        )
        await asyncio.wait_for(created.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    outcomes = _by(otel.points("helios.check.duration"), "helios.check.outcome")
    assert set(outcomes) == {"deadline_exceeded", "cancelled"}
    (active,) = otel.points("helios.check.active")
    assert active.value == 0


async def test_no_metric_attribute_names_a_run_or_a_user(sandbox: Sandbox, otel: Recorded) -> None:
    await _check(sandbox, otel.telemetry(include_labels=True))
    keys = {
        key
        for name in otel.metric_names()
        for point in otel.points(name)
        for key in point.attributes
    }
    assert keys <= {
        "http.request.method",
        "http.response.status_code",
        "server.address",
        "server.port",
        "url.template",
        "error.type",
        "helios.check.outcome",
        "helios.check.phase",
        "helios.model_run.status",
    }
