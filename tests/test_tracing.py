"""``_tracing``: the spans of wellness checks and their HTTP attempts, through the sandbox,
read back from the SDK's in-memory exporter (semantic conventions: HTTP client spans)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from otel_support import Recorded
from recordings import silence_wav

from helios_async import (
    BirthSex,
    ConnectError,
    HeliosClient,
    ModelRunFailedError,
    OutcomeUnknownError,
    Telemetry,
    User,
)
from helios_async.testing import (
    FAST_POLL,
    FAST_RETRY,
    ErrorStatus,
    FaultPlan,
    Reset,
    Sandbox,
    sample_recording,
)
from helios_async.testing._scoring import SIMULATED_TRANSCRIPT

USER = User(user_label="trace-user-7", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.MALE)
GET_TEMPLATE = "/v1/models/mental-wellness/{model_run_id}"
UPLOAD_TEMPLATE = "/helios-sandbox/recordings/{object_key}"


@pytest.fixture
def otel() -> Iterator[Recorded]:
    recorded = Recorded()
    yield recorded
    recorded.shutdown()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(processing_delay=0.05) as sandbox:
        yield sandbox


def _client(sandbox: Sandbox, telemetry: Telemetry | None) -> HeliosClient:
    return HeliosClient(
        sandbox.api_key,
        base_url=sandbox.base_url,
        poll=FAST_POLL,
        retry=FAST_RETRY,
        telemetry=telemetry,
    )


async def _check(sandbox: Sandbox, telemetry: Telemetry | None, recording: object = None) -> None:
    async with _client(sandbox, telemetry) as client:
        await client.run_wellness_check(
            sample_recording() if recording is None else recording,  # type: ignore[arg-type]
            user=USER,
            language="en-GB",
        )


def _http(otel: Recorded, template: str) -> list[ReadableSpan]:
    return [
        s for s in otel.spans() if s.attributes and s.attributes.get("url.template") == template
    ]


async def test_a_check_is_one_span_with_a_child_per_phase_and_one_per_http_attempt(
    sandbox: Sandbox, otel: Recorded
) -> None:
    await _check(sandbox, otel.telemetry())
    root = otel.one("helios.wellness_check")
    assert root.parent is None
    assert root.kind is SpanKind.INTERNAL
    tree = otel.tree(root)
    polls = len(_http(otel, GET_TEMPLATE))
    assert polls >= 1
    assert tree == [
        "helios.wellness_check",
        "  helios.create",
        "    POST /v1/models/mental-wellness",
        "  helios.upload",
        f"    PUT {UPLOAD_TEMPLATE}",
        "  helios.wait",
        *[f"    GET {GET_TEMPLATE}"] * polls,
    ]
    assert len(otel.spans()) == len(tree)  # nothing outside the tree
    wait = otel.one("helios.wait")
    events = [event for event in wait.events if event.name == "helios.poll"]
    assert [e.attributes["helios.poll.number"] for e in events] == list(range(1, polls + 1))
    assert events[-1].attributes["helios.model_run.status"] == "COMPLETE_OK"


async def test_the_check_span_carries_the_run_and_recording_but_no_label(
    sandbox: Sandbox, otel: Recorded
) -> None:
    await _check(sandbox, otel.telemetry())
    root = otel.one("helios.wellness_check")
    attributes = dict(root.attributes or {})
    run_id = attributes.pop("helios.model_run.id")
    assert sandbox.runs_created(USER.user_label) == 1
    assert run_id in sandbox.requests[-1].url
    assert attributes.pop("helios.recording.size") == sample_recording().stat().st_size
    assert attributes.pop("helios.recording.duration") > 10  # seconds
    assert attributes.pop("helios.check.polls") == len(_http(otel, GET_TEMPLATE))
    assert attributes == {
        "helios.recording.format": "ogg",
        "helios.check.outcome": "complete_ok",
        "helios.model_run.status": "COMPLETE_OK",
    }
    assert root.status.status_code is StatusCode.UNSET


async def test_include_labels_is_the_one_switch_that_shows_the_user_label(
    sandbox: Sandbox, otel: Recorded
) -> None:
    async with HeliosClient(
        sandbox.api_key,
        base_url=sandbox.base_url,
        poll=FAST_POLL,
        telemetry=otel.telemetry(include_labels=True),
    ) as client:
        await client.run_wellness_check(sample_recording(), user=USER, language="en-GB")
    root = otel.one("helios.wellness_check")
    assert root.attributes is not None
    assert root.attributes["helios.user.label"] == USER.user_label
    assert not any(SIMULATED_TRANSCRIPT[:20] in text for text in otel.all_text())


async def test_an_http_span_follows_the_semantic_conventions(
    sandbox: Sandbox, otel: Recorded
) -> None:
    await _check(sandbox, otel.telemetry())
    (post,) = _http(otel, "/v1/models/mental-wellness")
    (put,) = _http(otel, UPLOAD_TEMPLATE)
    port = int(sandbox.base_url.rpartition(":")[2])
    assert post.kind is SpanKind.CLIENT
    assert dict(post.attributes or {}) == {
        "http.request.method": "POST",
        "http.response.status_code": 200,
        "server.address": "127.0.0.1",
        "server.port": port,
        "url.full": f"{sandbox.base_url}/v1/models/mental-wellness",
        "url.template": "/v1/models/mental-wellness",
        "helios.operation": "create_model_run",
    }
    assert put.attributes is not None
    full = str(put.attributes["url.full"])
    assert full.startswith(f"{sandbox.storage_url}/helios-sandbox/recordings/")
    query = full.partition("?")[2].split("&")
    assert query and all(part.endswith("=REDACTED") for part in query)
    assert "X-Sandbox-Signature=REDACTED" in query
    assert put.attributes["server.port"] == int(sandbox.storage_url.rpartition(":")[2])
    assert put.attributes["helios.operation"] == "upload_recording"
    assert "http.request.resend_count" not in put.attributes  # a first attempt


async def test_traceparent_goes_to_the_api_host_only(sandbox: Sandbox, otel: Recorded) -> None:
    await _check(sandbox, otel.telemetry())
    spans = {span.context.span_id: span for span in otel.spans()}
    api = [r for r in sandbox.requests if r.host == "api"]
    storage = [r for r in sandbox.requests if r.host == "storage"]
    assert api and storage
    assert all("traceparent" not in r.headers for r in storage)
    for request in api:
        version, trace_id, parent_id, flags = request.headers["traceparent"].split("-")
        parent = spans[int(parent_id, 16)]  # the attempt's own CLIENT span
        assert parent.kind is SpanKind.CLIENT
        assert int(trace_id, 16) == parent.context.trace_id
        assert version == "00"
        assert int(flags, 16) & 1  # sampled


async def test_retries_are_attempt_spans_with_resend_counts(
    sandbox: Sandbox, otel: Recorded
) -> None:
    sandbox.faults = FaultPlan(seed=1)
    sandbox.faults.add("get", ErrorStatus(503), times=2)
    await _check(sandbox, otel.telemetry())
    gets = _http(otel, GET_TEMPLATE)
    first, second, third = gets[:3]
    assert [s.attributes.get("http.request.resend_count") for s in gets[:3]] == [None, 1, 2]  # type: ignore[union-attr]
    for failed in (first, second):
        assert failed.attributes is not None
        assert failed.attributes["http.response.status_code"] == 503
        assert failed.attributes["error.type"] == "503"
        assert failed.status.status_code is StatusCode.ERROR
    assert third.attributes is not None and "error.type" not in third.attributes
    assert third.status.status_code is StatusCode.UNSET


async def test_a_broken_connection_is_an_attempt_span_with_the_error_type(
    sandbox: Sandbox, otel: Recorded
) -> None:
    """A create cut off after the server acted may have made a run: not retried (D13)."""
    sandbox.faults = FaultPlan(seed=1)
    sandbox.faults.add("create", Reset(after_handler=True), times=1)
    with pytest.raises(OutcomeUnknownError):
        await _check(sandbox, otel.telemetry())
    (failed,) = _http(otel, "/v1/models/mental-wellness")
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "helios_async.TransportError"
    assert "http.response.status_code" not in failed.attributes
    assert failed.status.status_code is StatusCode.ERROR
    root = otel.one("helios.wellness_check")
    assert root.attributes is not None
    assert root.attributes["helios.check.outcome"] == "outcome_unknown"
    assert root.attributes["error.type"] == "helios_async.OutcomeUnknownError"


async def test_a_failed_check_has_error_status_type_and_code(
    sandbox: Sandbox, otel: Recorded
) -> None:
    with pytest.raises(ModelRunFailedError):
        await _check(sandbox, otel.telemetry(), silence_wav())
    root = otel.one("helios.wellness_check")
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes is not None
    assert root.attributes["error.type"] == "helios_async.ModelRunFailedError"
    assert root.attributes["helios.check.outcome"] == "complete_error"
    assert root.attributes["helios.model_run.status"] == "COMPLETE_ERROR"
    assert root.attributes["helios.model_run.error_code"] == "ERR_TRANSCRIPTION_FAILED"
    (exception,) = [e for e in root.events if e.name == "exception"]
    assert exception.attributes is not None
    assert exception.attributes["exception.type"] == "helios_async.ModelRunFailedError"
    assert otel.one("helios.wait").status.status_code is StatusCode.UNSET  # the wait went fine


async def test_a_phase_that_fails_marks_its_span_and_the_checks(otel: Recorded) -> None:
    async with Sandbox() as sandbox:
        url = sandbox.base_url
    async with HeliosClient("k", base_url=url, retry=FAST_RETRY, telemetry=otel.telemetry()) as c:
        with pytest.raises(ConnectError):
            await c.run_wellness_check(sample_recording(), user=USER, language="en-GB")
    create = otel.one("helios.create")
    assert create.status.status_code is StatusCode.ERROR
    assert create.attributes is not None
    assert create.attributes["error.type"] == "helios_async.ConnectError"
    root = otel.one("helios.wellness_check")
    assert root.attributes is not None and root.attributes["helios.check.outcome"] == "failed"
    attempts = otel.named("POST /v1/models/mental-wellness")
    assert len(attempts) == FAST_RETRY.attempts  # a refused connection is retried (D13)


async def test_poll_spans_makes_each_poll_a_span_holding_its_get(
    sandbox: Sandbox, otel: Recorded
) -> None:
    await _check(sandbox, otel.telemetry(poll_spans=True))
    wait = otel.one("helios.wait")
    polls = otel.children(wait)
    assert polls and all(span.name == "helios.poll" for span in polls)
    assert [p.attributes["helios.poll.number"] for p in polls] == list(range(1, len(polls) + 1))  # type: ignore[index]
    for poll in polls:
        assert [child.name for child in otel.children(poll)] == [f"GET {GET_TEMPLATE}"]
    assert polls[-1].attributes["helios.model_run.status"] == "COMPLETE_OK"  # type: ignore[index]
    assert not [event for event in wait.events if event.name == "helios.poll"]


async def test_wait_for_model_run_alone_is_a_wait_span(sandbox: Sandbox, otel: Recorded) -> None:
    async with _client(sandbox, otel.telemetry()) as client:
        created = await client.create_model_run(user=USER, language="en-GB")
        await client.upload_recording(created, sample_recording())
        await client.wait_for_model_run(created.id)
    wait = otel.one("helios.wait")
    assert wait.parent is None
    assert wait.attributes is not None and wait.attributes["helios.model_run.id"] == created.id
    assert {child.name for child in otel.children(wait)} == {f"GET {GET_TEMPLATE}"}
    assert "helios.wellness_check" not in otel.names()


async def test_the_legacy_get_path_has_its_own_template(sandbox: Sandbox, otel: Recorded) -> None:
    async with HeliosClient(
        sandbox.api_key,
        base_url=sandbox.base_url,
        legacy_get_path=True,
        telemetry=otel.telemetry(),
    ) as client:
        created = await client.create_model_run(user=USER, language="en-GB")
        await client.get_model_run(created.id)
    assert otel.names()[-1] == "GET /v1/models/{model_run_id}"


async def test_disabled_telemetry_makes_no_span(sandbox: Sandbox, otel: Recorded) -> None:
    await _check(
        sandbox,
        Telemetry(
            enabled=False, tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider
        ),
    )
    assert otel.spans() == []
    assert otel.metric_names() == set()
    assert all("traceparent" not in r.headers for r in sandbox.requests)


def test_telemetry_must_be_a_telemetry() -> None:
    from helios_async import InvalidInputError

    with pytest.raises(InvalidInputError, match="telemetry"):
        HeliosClient("k", telemetry={"enabled": False})  # type: ignore[arg-type]
