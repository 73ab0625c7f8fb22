"""The client's spans, after OpenTelemetry's HTTP client conventions (imported only when
``opentelemetry-api`` is; see ``_telemetry``).

* ``helios.wellness_check`` (INTERNAL): one check, with a child per phase: ``helios.create``,
  ``helios.upload``, ``helios.wait``. ``helios.wait`` also stands alone for
  ``wait_for_model_run``. Each poll is a ``helios.poll`` event on it, or a span of its own.
* ``{method} {url.template}`` (CLIENT): one HTTP attempt, e.g.
  ``GET /v1/models/mental-wellness/{model_run_id}``. ``url.full`` has every query value
  redacted; ``http.request.resend_count`` is set on retries; ``traceparent`` goes to the API
  host only, never to storage.

The attributes' names and values come from ``_otel_attributes``. Its context carries
OpenTelemetry's "suppress HTTP instrumentation" key, so an aiohttp client instrumentation
makes no second span with the signed URL in it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import attrs
from opentelemetry import context, metrics, propagate, trace
from opentelemetry.context import _SUPPRESS_HTTP_INSTRUMENTATION_KEY
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from . import _errors as errors
from ._metrics import Instruments
from ._otel_attributes import (
    ERROR_TYPE,
    HTTP_STATUS,
    OUTCOME,
    PHASE,
    POLL_NUMBER,
    POLLS,
    RECORDING_DURATION,
    RECORDING_FORMAT,
    RECORDING_SIZE,
    RESEND_COUNT,
    RUN_ERROR_CODE,
    RUN_ID,
    RUN_STATUS,
    USER_LABEL,
    described,
    error_type,
    outcome,
)
from ._telemetry import (
    _NULL_CONTEXT,
    _NULL_POLL,
    NULL_CHECK,
    CheckScope,
    HttpScope,
    PollScope,
    Runtime,
    Telemetry,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._models import ModelRun, ModelRunCreated
    from ._protocol import ApiRequest, ApiResponse
    from ._recording import PreparedRecording

SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.26.0"


def _unset_meter_providers() -> tuple[type, ...]:
    # The API's stand-in until an SDK sets a global meter provider has no public name.
    try:
        from opentelemetry.metrics._internal import _ProxyMeterProvider
    except ImportError:  # pragma: no cover - a future API that moved it
        return (metrics.NoOpMeterProvider,)
    return (metrics.NoOpMeterProvider, _ProxyMeterProvider)


# Providers that make nothing: the API's stand-ins while no SDK is set, and its no-ops.
_UNSET_TRACER_PROVIDERS: Final = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_UNSET_METER_PROVIDERS: Final = _unset_meter_providers()
_LOOK_AGAIN_AFTER: Final = 1.0  # seconds between looks for a provider set later


class OtelRuntime(Runtime):
    """The runtime with a tracer and instruments from the given (or global) providers.

    While neither provider is set (the API installed, no SDK configured), it takes the same
    path as telemetry turned off; once an application sets its SDK, even after the client
    was made, spans and metrics flow from its next call (within a second).
    """

    def __init__(self, options: Telemetry) -> None:
        self._tracer_provider = options.tracer_provider
        self._meter_provider = options.meter_provider
        self._providers_set = False
        self._next_look = float("-inf")
        self.tracer = trace.get_tracer(
            "helios_async",
            __version__,
            tracer_provider=options.tracer_provider,
            schema_url=SCHEMA_URL,
        )
        self.instruments = Instruments(options.meter_provider)
        self.poll_spans = options.poll_spans
        self.include_labels = options.include_labels

    @property
    def enabled(self) -> bool:
        # A provider once set stays set (OpenTelemetry sets each global once), so only "not
        # yet" is looked at again, at most once a second: looking costs about 1.5 us.
        if self._providers_set:
            return True
        now = time.monotonic()
        if now >= self._next_look:
            self._next_look = now + _LOOK_AGAIN_AFTER
            self._providers_set = self._any_provider_set()
        return self._providers_set

    def _any_provider_set(self) -> bool:
        tracer_provider = self._tracer_provider
        if tracer_provider is None:
            tracer_provider = trace.get_tracer_provider()
        if not isinstance(tracer_provider, _UNSET_TRACER_PROVIDERS):
            return True
        meter_provider = self._meter_provider
        if meter_provider is None:
            meter_provider = metrics.get_meter_provider()
        return not isinstance(meter_provider, _UNSET_METER_PROVIDERS)

    def http(self, request: ApiRequest, attempt: int) -> HttpScope:
        return _Http(self, request, attempt)

    def check(self) -> CheckScope:
        return _Check(self) if self.enabled else NULL_CHECK

    def wait(self, model_run_id: str) -> AbstractContextManager[None]:
        if not self.enabled:
            return _NULL_CONTEXT
        return self._internal("helios.wait", {RUN_ID: model_run_id})

    def poll(self, number: int) -> PollScope:
        return _Poll(self, number) if self.enabled else _NULL_POLL

    @contextlib.contextmanager
    def _internal(self, name: str, attributes: dict[str, Any]) -> Iterator[None]:
        with self.tracer.start_as_current_span(
            name, kind=SpanKind.INTERNAL, attributes=attributes, record_exception=False
        ) as span:
            try:
                yield
            except BaseException as exc:
                _fail(span, exc)
                raise


def _fail(span: Span, exc: BaseException) -> None:
    kind = error_type(exc)
    span.set_attribute(ERROR_TYPE, kind)
    span.set_status(Status(StatusCode.ERROR, kind))


class _Http(HttpScope):
    __slots__ = ("_attributes", "_rt", "_span", "_started", "_token", "request", "span_name")

    def __init__(self, rt: OtelRuntime, request: ApiRequest, attempt: int) -> None:
        # Polls repeat one URL: cached. An upload's is signed and used once: never kept.
        describe = described.__wrapped__ if request.to_storage else described
        name, metric_attributes, span_attributes = describe(
            request.operation, request.method, request.url
        )
        self._attributes = dict(metric_attributes)
        self._rt = rt
        self.request = request
        self.span_name = name
        if attempt > 1:
            span_attributes = {**span_attributes, RESEND_COUNT: attempt - 1}
        self._span = rt.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=span_attributes)
        self._token: object = None
        self._started = 0.0

    def __enter__(self) -> Self:
        suppressed = context.set_value(_SUPPRESS_HTTP_INSTRUMENTATION_KEY, True)
        self._token = context.attach(trace.set_span_in_context(self._span, suppressed))
        self._started = time.perf_counter()
        return self

    def outgoing(self, request: ApiRequest) -> ApiRequest:
        if request.to_storage:
            return request  # storage gets no trace context: it is not ours, and it signs headers
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if not carrier:
            return request
        return attrs.evolve(request, headers={**request.headers, **carrier})

    def received(self, response: ApiResponse) -> None:
        status = response.status
        self._attributes[HTTP_STATUS] = status
        self._span.set_attribute(HTTP_STATUS, status)
        if status >= 400:
            self._attributes[ERROR_TYPE] = str(status)
            self._span.set_attribute(ERROR_TYPE, str(status))
            self._span.set_status(Status(StatusCode.ERROR))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        if exc is not None:
            self._attributes[ERROR_TYPE] = error_type(exc)
            _fail(self._span, exc)
        context.detach(self._token)  # type: ignore[arg-type]
        self._span.end()
        self._rt.instruments.http_duration.record(elapsed, self._attributes)


class _Poll(PollScope):
    __slots__ = ("_number", "_rt", "_scope", "_span")

    def __init__(self, rt: OtelRuntime, number: int) -> None:
        self._rt = rt
        self._number = number
        self._span: Span | None = None
        self._scope: AbstractContextManager[Span] | None = None

    def __enter__(self) -> Self:
        if self._rt.poll_spans:
            self._scope = self._rt.tracer.start_as_current_span(
                "helios.poll",
                kind=SpanKind.INTERNAL,
                attributes={POLL_NUMBER: self._number},
                record_exception=False,
            )
            self._span = self._scope.__enter__()
        return self

    def seen(self, run: ModelRun) -> None:
        attributes: dict[str, Any] = {POLL_NUMBER: self._number, RUN_STATUS: str(run.status)}
        if self._span is not None:
            self._span.set_attributes(attributes)
        else:
            trace.get_current_span().add_event("helios.poll", attributes)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._scope is None or self._span is None:
            return
        if exc is not None:
            _fail(self._span, exc)
        self._scope.__exit__(exc_type, exc, tb)


class _Check(CheckScope):
    __slots__ = ("_phases", "_polls", "_rt", "_run", "_span", "_started", "_token")

    def __init__(self, rt: OtelRuntime) -> None:
        self._rt = rt
        self._span = rt.tracer.start_span("helios.wellness_check", kind=SpanKind.INTERNAL)
        self._token: object = None
        self._started = 0.0
        self._phases: dict[str, float] = {}
        self._polls = 0
        self._run: ModelRun | None = None

    def __enter__(self) -> Self:
        self._token = context.attach(trace.set_span_in_context(self._span))
        self._rt.instruments.active.add(1)
        self._started = time.perf_counter()
        return self

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            with self._rt.tracer.start_as_current_span(
                f"helios.{name}", kind=SpanKind.INTERNAL, record_exception=False
            ) as span:
                try:
                    yield
                except BaseException as exc:
                    _fail(span, exc)
                    raise
        finally:
            self._phases[name] = self._phases.get(name, 0.0) + time.perf_counter() - started

    def user(self, user_label: str) -> None:
        if self._rt.include_labels:
            self._span.set_attribute(USER_LABEL, user_label)

    def recording(self, recording: PreparedRecording) -> None:
        self._span.set_attribute(RECORDING_FORMAT, str(recording.format.value))
        self._span.set_attribute(RECORDING_SIZE, recording.size)
        if recording.duration is not None:
            self._span.set_attribute(RECORDING_DURATION, recording.duration)

    def created(self, created: ModelRunCreated) -> None:
        self._span.set_attribute(RUN_ID, created.id)

    def polled(self, run: ModelRun) -> None:
        self._polls += 1

    def finished(self, run: ModelRun) -> None:
        self._run = run

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        instruments = self._rt.instruments
        ended = outcome(exc)
        run = self._run
        if run is None and isinstance(exc, errors.ModelRunFailedError):
            run = exc.run
        elif run is None and isinstance(exc, errors.DeadlineExceededError):
            run = exc.last_run
        span = self._span
        span.set_attribute(OUTCOME, ended)
        span.set_attribute(POLLS, self._polls)
        if run is not None:
            span.set_attribute(RUN_STATUS, str(run.status))
            if run.error_code is not None:
                span.set_attribute(RUN_ERROR_CODE, str(run.error_code))
            if run.run_at is not None and run.completed_at is not None:
                processing = (run.completed_at - run.run_at).total_seconds()
                instruments.processing.record(processing, {RUN_STATUS: str(run.status)})
        if exc is not None:
            _fail(span, exc)
            span.add_event(
                "exception",
                {"exception.type": error_type(exc), "exception.message": str(exc)},
            )
        context.detach(self._token)  # type: ignore[arg-type]
        span.end()
        instruments.active.add(-1)
        attributes: dict[str, Any] = {OUTCOME: ended}
        if exc is not None:
            attributes[ERROR_TYPE] = error_type(exc)
        instruments.check_duration.record(elapsed, attributes)
        instruments.polls.record(self._polls, {OUTCOME: ended})
        for name, seconds in self._phases.items():
            instruments.phase_duration.record(seconds, {PHASE: name, OUTCOME: ended})
