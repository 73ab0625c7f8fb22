"""Privacy by default (issue 12): after a chaos run, no span, span event, metric, log record,
hook payload or error message holds the API key, a presigned URL's signature or credential,
a user label, a tag or a transcript; no model's repr shows a label, a date of birth, a tag's
value or a transcript; and a traceback formatted with its frame locals (as crash reporters
capture them) shows none of these, nor the key, nor a signature."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import traceback
from collections.abc import Coroutine, Iterator
from typing import Any
from urllib.parse import unquote

import attrs
import pytest
from otel_support import Recorded

from helios_async import (
    ApiResponse,
    BirthSex,
    CreateDeadlineExceededError,
    DeadlineExceededError,
    DecodeError,
    HeliosClient,
    HeliosError,
    Hooks,
    ModelRun,
    ModelRunCreated,
    ModelRunFailedError,
    ModelRunRequest,
    ModelRunResults,
    ModelRunStatus,
    OutcomeUnknownError,
    PollPolicy,
    RetryPolicy,
    Section,
    Tag,
    Timeouts,
    User,
    WellnessJob,
    WellnessOutcome,
)
from helios_async._models import SCORE_NAMES
from helios_async._protocol import Endpoints
from helios_async.cli._manifest import ManifestRow
from helios_async.testing import (
    ErrorStatus,
    FaultPlan,
    MalformedJson,
    MockTransport,
    NeverFinishes,
    Reset,
    ResetMidBody,
    Sandbox,
    Slow,
    mock_response,
    sample_recording,
)
from helios_async.testing._scoring import SIMULATED_TRANSCRIPT

SEEDS = (11, 12)
CHECKS = 16
TAG_VALUE = "cohort-TAGVALUE-9f3k"
BIRTH = dt.date(1987, 11, 23)
# How a date of birth shows: the date's repr, ISO 8601 (the wire), and its str.
BIRTH_SHOWN = ("1987, 11, 23", "1987-11-23")


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
    return User(user_label=label, date_of_birth=BIRTH, birth_sex=BirthSex.FEMALE)


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


async def _failing(check: Coroutine[Any, Any, object]) -> BaseException:
    """One check that fails; the exception, caught here so its traceback starts in a frame
    whose locals hold only the check's coroutine (the caller's own variables are the
    caller's)."""
    try:
        await check
    except HeliosError as exc:
        return exc
    raise AssertionError("the check did not fail")


def _faulty(route: str, fault: Any) -> Any:
    def setup(sandbox: Sandbox) -> None:
        sandbox.faults.add(route, fault, rate=1.0)  # type: ignore[arg-type]

    return setup


def _failed_run(sandbox: Sandbox) -> None:
    sandbox.set_outcome(TB_LABEL, "ERR_INTERNAL")


TB_LABEL = "tb-user-label-31"


@pytest.mark.parametrize(
    ("setup", "deadline", "raised"),
    [
        # a transport error under aiohttp, in the upload
        (_faulty("upload", ResetMidBody()), None, HeliosError),
        # a poll cut off, after the upload
        (_faulty("get", Reset(after_handler=True)), None, HeliosError),
        # an unknown outcome, before any upload: the create's body in the transport's frames
        (_faulty("create", Reset(after_handler=True)), None, OutcomeUnknownError),
        # a poll answered with half a body: the JSON, label and all, in the decoder's frames
        (_faulty("get", MalformedJson()), None, HeliosError),
        # the run ended COMPLETE_ERROR: the run in the workflow's frames
        (_failed_run, None, ModelRunFailedError),
        # the deadline passed while polling, and while the create was in flight
        (_faulty("create", NeverFinishes()), 0.3, DeadlineExceededError),
        (_faulty("create", Slow(1.0)), 0.2, CreateDeadlineExceededError),
    ],
    ids=["upload", "poll", "create", "malformed", "failed", "deadline", "create-deadline"],
)
async def test_a_traceback_with_its_locals_shows_no_secret_and_no_personal_data(
    otel: Recorded, setup: Any, deadline: float | None, raised: type[HeliosError]
) -> None:
    async with Sandbox(faults=FaultPlan(seed=5)) as sandbox:
        setup(sandbox)
        async with HeliosClient(
            sandbox.api_key,
            base_url=sandbox.base_url,
            retry=RetryPolicy(attempts=2, sleep=_no_sleep),
            poll=POLL,
            timeouts=TIMEOUTS,
            telemetry=otel.telemetry(),
        ) as client:
            error = await _failing(
                client.run_wellness_check(
                    sample_recording(),
                    user=_user(TB_LABEL),
                    language="en-GB",
                    tags={"cohort": TAG_VALUE},
                    deadline=deadline,
                )
            )
        secrets = _secrets(sandbox, [TB_LABEL]) + list(BIRTH_SHOWN)
    assert isinstance(error, raised), repr(error)
    exception = traceback.TracebackException.from_exception(error, capture_locals=True)
    text = "".join(exception.format())
    assert "_failing" in text  # the locals were captured, frames and all
    assert text.count(" = ") > 10
    assert "<redacted>" in text  # the personal values were there, and hid themselves
    for secret in secrets:
        leaks = [line for line in text.splitlines() if secret in line]
        assert not leaks, f"{secret!r} in the traceback: {leaks[0]}"


@pytest.mark.parametrize("route", ["create", "activity"])
async def test_a_failed_create_s_traceback_with_its_locals_shows_no_personal_data(
    route: str,
) -> None:
    """``create_model_run`` and ``create_activity_run`` take the tags as the caller gave
    them; their frames show them redacted, as the body is."""
    async with Sandbox(faults=FaultPlan(seed=5)) as sandbox:
        sandbox.faults.add(route, Reset(after_handler=True), rate=1.0)  # type: ignore[arg-type]
        async with HeliosClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=RETRY, timeouts=TIMEOUTS
        ) as client:
            create = client.create_model_run if route == "create" else client.create_activity_run
            error = await _failing(
                create(user=_user(TB_LABEL), language="en-GB", tags={"cohort": TAG_VALUE})
            )
    assert isinstance(error, OutcomeUnknownError), repr(error)
    exception = traceback.TracebackException.from_exception(error, capture_locals=True)
    text = "".join(exception.format())
    assert f"in {create.__name__}" in text and "<redacted>" in text
    for secret in [TB_LABEL, TAG_VALUE, *BIRTH_SHOWN]:
        assert secret not in text, f"{secret!r} in the traceback"


UNKNOWN_RUN = "ddebd75b-99b3-42b4-ac65-5ce852c688e9"


def _assert_no_locals_leak(error: BaseException, secrets: list[str]) -> None:
    """The error's traceback, formatted with its frames' locals, shows none of ``secrets``
    and no raw body (a ``bytes`` repr), and did capture the error path's frames."""
    exception = traceback.TracebackException.from_exception(error, capture_locals=True)
    text = "".join(exception.format())
    assert "in raise_for_status" in text and "_failing" in text  # frames and locals captured
    for secret in secrets:
        leaks = [line for line in text.splitlines() if secret in line]
        assert not leaks, f"{secret!r} in the traceback: {leaks[0]}"
    raw = [line for line in text.splitlines() if re.search(r"= b['\"]", line)]
    assert not raw, f"a raw body in the traceback: {raw[0]}"


def _status_of(error: BaseException | None) -> int | None:
    """The HTTP status of the error or of the first error it was raised from."""
    while error is not None and getattr(error, "status", None) is None:
        error = error.__cause__
    return getattr(error, "status", None)


@pytest.mark.parametrize("status", [401, 404, 422, 500])
async def test_an_error_status_from_the_sandbox_leaves_no_key_in_the_traceback(
    status: int,
) -> None:
    """Every non-2xx answer goes through ``raise_for_status``: its frame (and every other on
    the way up) holds neither the key nor the raw error body as a local."""
    async with Sandbox() as sandbox:
        key = sandbox.api_key if status != 401 else "hk-a-wrong-key-9d2f"
        if status == 422:
            sandbox.faults.add("create", ErrorStatus(422), rate=1.0)
        if status == 500:
            sandbox.faults.add("get", ErrorStatus(500), rate=1.0)
        async with HeliosClient(
            key, base_url=sandbox.base_url, retry=RETRY, poll=POLL, timeouts=TIMEOUTS
        ) as client:
            check = (
                client.get_model_run(UNKNOWN_RUN)
                if status == 404
                else client.run_wellness_check(
                    sample_recording(), user=_user(TB_LABEL), language="en-GB"
                )
            )
            error = await _failing(check)
    assert _status_of(error) == status, repr(error)
    _assert_no_locals_leak(error, [key, sandbox.api_key, TB_LABEL, *BIRTH_SHOWN])


@pytest.mark.parametrize("status", [401, 404, 422, 500])
async def test_an_error_body_that_echoes_the_key_and_a_label_stays_out_of_the_traceback(
    status: int,
) -> None:
    """A server whose error body echoes the key and the label (a FastAPI 422's ``input``):
    neither shows among any frame's locals; the body on the error is held redacted."""
    key = "hk-echoed-key-51ce"
    body = {"detail": [{"loc": ["body", "user", "userLabel"], "msg": "bad", "input": TB_LABEL}]}
    body["key"] = key  # type: ignore[assignment]

    def answer(request: Any) -> ApiResponse:
        return mock_response(status, json=body)

    transport = MockTransport(answer)
    async with HeliosClient(key, transport=transport, retry=RETRY, poll=POLL) as client:
        check = (
            client.get_model_run(UNKNOWN_RUN)
            if status != 422
            else client.create_model_run(user=_user(TB_LABEL), language="en-GB")
        )
        error = await _failing(check)
    assert getattr(error, "status", None) == status, repr(error)
    assert key.encode() not in getattr(error, "body", b"")
    _assert_no_locals_leak(error, [key, TB_LABEL, *BIRTH_SHOWN])


@pytest.mark.parametrize("status", [400, 500])
async def test_an_error_body_echoing_the_label_tags_and_birth_date_keeps_them_out_of_the_message(
    status: int,
) -> None:
    """A server whose plain-text error body echoes what the create sent (the label, a tag
    value, the date of birth, raw or JSON-escaped): the error's message and its body show
    ``<redacted>`` in their place; the rest of the text stays, to help the reader."""
    label = 'tb-"quoted"-label'
    echo = f"upstream oops for {label} / {json_escaped(label)} tag=site-secret-7 born 1987-11-23"

    def answer(request: Any) -> ApiResponse:
        return mock_response(status, body=echo.encode(), headers={"Content-Type": "text/plain"})

    async with HeliosClient(
        "hk-key", transport=MockTransport(answer), retry=RETRY, poll=POLL
    ) as client:
        error = await _failing(
            client.create_model_run(
                user=_user(label), language="en-GB", tags={"site": "site-secret-7"}
            )
        )
    shown = str(error) + repr(error) + bytes(getattr(error, "body", b"")).decode()
    for secret in (label, json_escaped(label), "site-secret-7", "1987-11-23"):
        assert secret not in shown, secret
    assert "upstream oops for <redacted>" in str(error)


async def test_cutting_echoed_values_keeps_the_rest_of_the_message_readable() -> None:
    """The cuts are made in one pass: a value is never looked for inside another's cut or
    the marker, and values under three characters (a tag value ``"a"``) are not cut at all,
    so the JSON detail still renders: a FastAPI 422 on the label reads as one."""
    body = {"detail": [{"loc": ["body", "user", "userLabel"], "msg": "alice is invalid"}]}

    def answer(request: Any) -> ApiResponse:
        return mock_response(422, json=body)

    async with HeliosClient(
        "hk-key", transport=MockTransport(answer), retry=RETRY, poll=POLL
    ) as client:
        error = await _failing(
            client.create_model_run(user=_user("alice"), language="en-GB", tags={"t": "a"})
        )
    assert "user.userLabel: <redacted> is invalid" in str(error), str(error)
    assert "alice" not in str(error)


def json_escaped(text: str) -> str:
    """``text`` as it appears inside a JSON string."""
    return json.dumps(text)[1:-1]


async def test_a_refused_upload_leaves_no_raw_storage_body_in_the_traceback() -> None:
    """Object storage's error body (S3 XML can echo the signature it was given) is held
    redacted in ``decode_upload``'s frame too."""
    async with Sandbox() as sandbox:
        sandbox.faults.add("upload", ErrorStatus(500), rate=1.0)
        async with HeliosClient(
            sandbox.api_key, base_url=sandbox.base_url, retry=RETRY, timeouts=TIMEOUTS
        ) as client:
            error = await _failing(
                client.run_wellness_check(
                    sample_recording(), user=_user(TB_LABEL), language="en-GB"
                )
            )
        secrets = _secrets(sandbox, [TB_LABEL])
    assert _status_of(error) == 500, repr(error)
    text = "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    assert "in decode_upload" in text
    assert not [line for line in text.splitlines() if re.search(r"= b['\"]", line)]
    for secret in secrets:
        assert secret not in text, f"{secret!r} in the traceback"


async def test_a_body_that_does_not_fit_leaves_no_personal_data_in_the_traceback() -> None:
    """A 2xx run whose JSON does not fit the model: the decoder's frames (and cattrs's
    under them) would hold the parsed payload, label and transcript in it."""
    payload = {
        "id": "ddebd75b-99b3-42b4-ac65-5ce852c688e9",
        "status": "COMPLETE_OK",
        "userLabel": TB_LABEL,
        "results": {"sections": [{"startSecs": "soon", "transcript": SIMULATED_TRANSCRIPT}]},
    }
    transport = MockTransport(lambda _request: mock_response(200, json=payload))
    async with HeliosClient("hk-key", transport=transport, retry=RETRY) as client:
        error = await _failing(client.get_model_run(str(payload["id"])))
    assert isinstance(error, DecodeError), repr(error)
    exception = traceback.TracebackException.from_exception(error, capture_locals=True)
    text = "".join(exception.format())
    assert "in decode" in text and "response = ApiResponse(status=200)" in text
    for secret in [TB_LABEL, SIMULATED_TRANSCRIPT[:20]]:
        assert secret not in text, f"{secret!r} in the traceback"


def _section(transcript: str) -> Section:
    return Section(
        start_secs=0.0,
        finish_secs=18.4,
        transcript=transcript,
        **dict.fromkeys(SCORE_NAMES, 0.33),
    )


def test_no_repr_shows_a_label_a_date_of_birth_a_tag_value_or_a_transcript() -> None:
    """Every model and error that holds personal data, alone and nested: the values hide
    as ``<redacted>`` in the repr, and stay readable and compared as attributes."""
    user = _user("repr-label-77k")
    body = ModelRunRequest(user=user, language="en-GB", tags={"cohort": TAG_VALUE})
    run = ModelRun(
        id="ddebd75b-99b3-42b4-ac65-5ce852c688e9",
        status=ModelRunStatus.COMPLETE_OK,
        user_label=user.user_label,
        results=ModelRunResults(sections=(_section(SIMULATED_TRANSCRIPT),)),
        raw={"userLabel": user.user_label, "results": SIMULATED_TRANSCRIPT},
    )
    failed = attrs.evolve(run, status=ModelRunStatus.COMPLETE_ERROR, results=None)
    job = WellnessJob(recording=b"RIFF", user=user, language="en-GB", tags={"cohort": TAG_VALUE})
    request = Endpoints(base_url="http://h", api_key="k", user_agent="ua").create_model_run(body)
    assert isinstance(request.body, bytes)
    shown = {
        "user": user,
        "tag": Tag(name="cohort", value=TAG_VALUE),
        "body": body,
        "run": run,
        "section": run.section,
        "results": run.results,
        "job": job,
        "outcome": WellnessOutcome(job=job, run=run, error=None, model_run_id=run.id, elapsed=1.0),
        "failed outcome": WellnessOutcome(
            job=job, run=failed, error=ModelRunFailedError(failed), model_run_id=run.id, elapsed=1.0
        ),
        "request body": request.body,
        "response body": ApiResponse(status=200, headers={}, body=bytes(request.body)).body,
        "unknown outcome": OutcomeUnknownError(
            "create_model_run", user_label=user.user_label, cause=ConnectionError()
        ),
        "create deadline": CreateDeadlineExceededError(
            timeout=1.0, phase_seconds={}, user_label=user.user_label
        ),
        "deadline": DeadlineExceededError("poll", timeout=1.0, last_run=run),
        "manifest row": ManifestRow(
            line=2, digest="0" * 16, cells={"user_label": user.user_label, "tags": TAG_VALUE}
        ),
    }
    for name, value in shown.items():
        text = repr(value) + str(value)
        for secret in (user.user_label, TAG_VALUE, SIMULATED_TRANSCRIPT[:20], *BIRTH_SHOWN):
            assert secret not in text, f"{secret!r} in the repr of the {name}: {text}"
    assert repr(user) == (
        "User(user_label=<redacted>, date_of_birth=<redacted>, birth_sex=<BirthSex.FEMALE: "
        "'FEMALE'>)"
    )
    assert "tags=(Tag(name='cohort', value=<redacted>),)" in repr(body)
    assert "transcript=<redacted>" in repr(run) and "distress=0.33" in repr(run)
    # The values are still there, and equality still compares them.
    assert (user.user_label, user.date_of_birth) == ("repr-label-77k", BIRTH)
    assert run.section is not None and run.section.transcript == SIMULATED_TRANSCRIPT
    assert user != _user("another-label") and user == _user("repr-label-77k")
    assert run != attrs.evolve(run, user_label="another-label")
    # Blank values hide nothing, and show as themselves.
    assert "transcript=''" in repr(_section(""))
    assert "tags=None" in repr(attrs.evolve(job, tags=None))


def test_a_refused_date_of_birth_is_not_echoed_in_the_error() -> None:
    for day in (dt.date(1899, 5, 17), dt.date.today() + dt.timedelta(days=400)):
        with pytest.raises(HeliosError) as refused:
            User(user_label="x", date_of_birth=day, birth_sex="FEMALE")
        assert str(day) not in str(refused.value) and str(day.year) not in str(refused.value)


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
    request = client._operations.endpoints.create_model_run(body)
    assert isinstance(request.body, bytes) and b'"userLabel":"x"' in request.body
    assert repr(request.body) == str(request.body) == f"<{len(request.body)} bytes, redacted>"
