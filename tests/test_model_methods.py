"""The shared ``__eq__``, ``__hash__`` and ``__repr__`` (``_model_methods``) of the models,
recordings, options, hooks and their events, and the sans-I/O request and response behave as
the ones attrs would generate: each class is compared with an attrs-generated twin."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import attrs
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from helios_async import (
    Account,
    ActivityRunCreated,
    ApiRequest,
    ApiResponse,
    AudioFormat,
    Hooks,
    ModelRun,
    ModelRunCreated,
    ModelRunRequest,
    ModelRunResults,
    PollPolicy,
    RecordingBody,
    RecordingInfo,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    RetryPolicy,
    Section,
    Tag,
    Telemetry,
    Timeouts,
    User,
    WellnessJob,
    WellnessOutcome,
)
from helios_async._connection import Connection
from helios_async._converter import structure
from helios_async._model_methods import ModelMethods
from helios_async._operations import Operations
from helios_async._protocol import Endpoints
from helios_async._recording import PreparedRecording
from helios_async._sending import Sender
from helios_async.testing import MockTransport

MODELS = [
    Account,
    ActivityRunCreated,
    ApiRequest,
    ApiResponse,
    Endpoints,
    Hooks,
    ModelRun,
    ModelRunCreated,
    ModelRunRequest,
    ModelRunResults,
    Operations,
    PollPolicy,
    PreparedRecording,
    RecordingBody,
    RecordingInfo,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    RetryPolicy,
    Section,
    Sender,
    Tag,
    Telemetry,
    Timeouts,
    User,
    WellnessJob,
    WellnessOutcome,
]


TWINS: dict[type, type] = {}


def twin_of(cls: type) -> type:
    """The class attrs would make with the same fields and its own generated methods (one
    per model class)."""
    if cls in TWINS:
        return TWINS[cls]
    fields = {
        a.name: attrs.field(default=None, repr=a.repr, eq=a.eq, hash=a.hash)
        for a in attrs.fields(cls)
    }
    body = {"__annotations__": dict.fromkeys(fields, "object"), **fields}
    TWINS[cls] = attrs.frozen(kw_only=True, slots=False)(type(cls.__name__, (), body))
    return TWINS[cls]


def twin(model: Any) -> Any:
    cls = twin_of(type(model))
    return cls(**{a.alias: getattr(model, a.name) for a in attrs.fields(type(model))})


def samples(examples: dict[str, dict[str, Any]]) -> list[Any]:
    """Instances of every model, with equal, unequal and equal-but-for-``raw`` pairs."""
    ok = structure(examples["run_complete_ok"], ModelRun, request_id="req-1")
    section = ok.results.sections[0] if ok.results else None
    assert section is not None
    nan = float("nan")
    user = User(user_label="u-1", date_of_birth=dt.date(1990, 2, 3), birth_sex="FEMALE")
    request = ModelRunRequest(user=user, language="en-GB", tags={"cohort": "a"})
    prepared = PreparedRecording(
        format=AudioFormat.WAV, size=44, duration=12.5, name="a.wav", open=io.BytesIO
    )
    return [
        ok,
        structure(examples["run_complete_ok"], ModelRun, request_id="req-2"),  # eq=False field
        structure(examples["run_running"], ModelRun),
        structure(examples["run_complete_error"], ModelRun),
        ModelRun(id="a"),
        ModelRun(id="a", raw={"extra": 1}),
        ModelRun(id="b"),
        ok.results,
        ModelRunResults(sections=()),
        section,
        attrs.evolve(section, transcript="other words"),
        attrs.evolve(section, mental_strain=nan),  # unequal even to itself
        structure(examples["account"], Account),
        Account(id="acc", features=("x",), raw={"y": 2}),
        structure(examples["create_response"], ModelRunCreated),
        ActivityRunCreated(id="r", activity_link="https://a.example/x", raw={"link": "x"}),
        ActivityRunCreated(id="r", activity_link="https://a.example/y"),
        user,
        attrs.evolve(user, birth_sex="MALE"),
        Tag(name="cohort", value="a"),
        Tag(name="cohort", value="b"),
        request,
        attrs.evolve(request, accent="Scottish"),
        prepared,
        attrs.evolve(prepared, open=lambda: io.BytesIO(b"")),  # the same but for open()
        attrs.evolve(prepared, duration=None),
        RecordingBody(recording=prepared),
        RecordingBody(recording=prepared, on_chunk=print),  # eq=False field
        RecordingInfo(format=AudioFormat.MP3, content_type="audio/mpeg", size=9, duration=None),
        RecordingInfo(format=AudioFormat.MP3, content_type="audio/mpeg", size=10, duration=None),
        RetryPolicy(),
        RetryPolicy.disabled(),
        RetryPolicy(sleep=print),  # eq=False field
        Telemetry(),
        Telemetry(enabled=False),
        *options_and_events(),
        *requests_and_responses(),
        *policies_jobs_and_outcomes(user, ok),
    ]


def options_and_events() -> list[Any]:
    """Timeouts, hooks, their events and a sender, equal and unequal pairs among them."""
    error = ValueError("boom")
    hooks = Hooks(on_request=print)
    connection = Connection(MockTransport(lambda request: None), needs_open=False)
    sender = Sender(connection=connection, timeouts=Timeouts(), retry=RetryPolicy(), hooks=hooks)
    return [
        Timeouts(),
        Timeouts(read=5.0),
        Timeouts(upload=90.0),
        Hooks(),
        hooks,
        Hooks(on_request=print, on_retry=print),
        RequestEvent(operation="get_model_run", method="GET", url="https://h/x", attempt=1),
        RequestEvent(operation="get_model_run", method="GET", url="https://h/x", attempt=2),
        ResponseEvent(
            operation="get_account",
            method="GET",
            url="https://h/a",
            attempt=1,
            status=200,
            elapsed=0.25,
            request_id=None,
        ),
        ResponseEvent(
            operation="get_account",
            method="GET",
            url="https://h/a",
            attempt=1,
            status=503,
            elapsed=0.25,
            request_id="req-1",
        ),
        ResponseEvent(
            operation="get_account",
            method="GET",
            url="https://h/a",
            attempt=1,
            status=200,
            elapsed=float("nan"),  # unequal even to itself
            request_id=None,
        ),
        RetryEvent(operation="get_account", attempt=1, delay=0.5, error=error),
        RetryEvent(operation="get_account", attempt=1, delay=0.5, error=ValueError("boom")),
        sender,
        Sender(connection=connection, timeouts=Timeouts(), retry=RetryPolicy(), hooks=hooks),
        attrs.evolve(sender, hooks=Hooks()),
    ]


def requests_and_responses() -> list[Any]:
    """Endpoints and the requests and responses of the sans-I/O core (hashable when their
    headers are: an ``ApiRequest``'s and ``ApiResponse``'s are not, as with attrs)."""
    endpoints = Endpoints(base_url="https://h.example", api_key="k", user_agent="ua")
    headers = CIMultiDictProxy(CIMultiDict({"Retry-After": "1"}))
    return [
        endpoints,
        Endpoints(base_url="https://h.example", api_key="k", user_agent="ua"),
        Endpoints(base_url="https://h.example", api_key="other", user_agent="ua"),
        endpoints.get_account(),
        endpoints.get_model_run("ddebd75b-99b3-42b4-ac65-5ce852c688e9"),
        endpoints.get_model_run("ddebd75b-99b3-42b4-ac65-5ce852c688ea"),
        ApiResponse(status=200, headers=headers, body=b"{}"),
        ApiResponse(status=200, headers=headers, body=b"{}"),
        ApiResponse(status=429, headers=headers, body=b"{}"),
    ]


def policies_jobs_and_outcomes(user: User, run: ModelRun) -> list[Any]:
    """Poll policies, fan-out jobs and outcomes, and a client's operations."""
    job = WellnessJob(recording=b"RIFF", user=user, language="en-GB", tags=(("a", "b"),), key=1)
    endpoints = Endpoints(base_url="https://h.example", api_key="k", user_agent="ua")
    connection = Connection(MockTransport(lambda request: None), needs_open=False)
    sender = Sender(connection=connection, timeouts=Timeouts(), retry=RetryPolicy(), hooks=Hooks())
    operations = Operations(endpoints=endpoints, sender=sender, poll=PollPolicy())
    return [
        PollPolicy(),
        PollPolicy(interval=5.0),
        PollPolicy(sleep=print),  # eq=False field
        PollPolicy(jitter=0.0),
        job,
        attrs.evolve(job, key=2),
        attrs.evolve(job, recording=b"other"),  # compared, though not shown
        WellnessOutcome(job=job, run=run, error=None, model_run_id=run.id, elapsed=1.5),
        WellnessOutcome(job=job, run=None, error=None, model_run_id=None, elapsed=float("nan")),
        operations,
        attrs.evolve(operations, poll=PollPolicy(interval=5.0)),
    ]


UNHASHABLE = (ApiRequest, ApiResponse)  # their headers are a (multi)dict, as with attrs


def test_every_model_uses_the_shared_methods():
    for cls in MODELS:
        assert issubclass(cls, ModelMethods), cls
        for method in ("__eq__", "__hash__", "__repr__"):
            assert getattr(cls, method) is getattr(ModelMethods, method), (cls, method)


def test_repr_is_the_one_attrs_would_make(examples):
    for model in samples(examples):
        assert repr(model) == repr(twin(model))


def test_equality_and_hash_are_the_ones_attrs_would_make(examples):
    models = samples(examples)
    twins = [twin(model) for model in models]
    for model, model_twin in zip(models, twins, strict=True):
        for other, other_twin in zip(models, twins, strict=True):
            if type(other) is not type(model):
                assert model.__eq__(other) is NotImplemented
                continue
            assert (model == other) is (model_twin == other_twin)
            assert (model != other) is not (model == other)
            if isinstance(model, UNHASHABLE):
                with pytest.raises(TypeError):
                    hash(model)
                with pytest.raises(TypeError):
                    hash(model_twin)
            elif model == other:
                assert hash(model) == hash(other)
        assert (model == model_twin) is False  # another class: never equal


def vars_of(model: Any) -> dict[str, Any]:
    return {a.name: getattr(model, a.name) for a in attrs.fields(type(model))}


@pytest.mark.parametrize("cls", [cls for cls in MODELS if cls not in UNHASHABLE])
def test_equal_models_are_interchangeable_in_a_set(cls, examples):
    found = [model for model in samples(examples) if type(model) is cls]
    assert found, cls
    found = [model for model in found if model == model]  # not the one holding a NaN
    assert {*found, *(attrs.evolve(model) for model in found)} == set(found)
