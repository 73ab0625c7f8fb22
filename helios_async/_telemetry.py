"""OpenTelemetry, optional: the :class:`Telemetry` options and the scopes the core calls.

The core (sender, workflow, polling) calls a :class:`Runtime` at the places worth seeing: each
HTTP attempt, each wellness check and its phases, each wait and each poll. Without the
``opentelemetry-api`` package, or with ``Telemetry(enabled=False)``, that runtime is
:data:`NULL`, whose scopes do nothing, and ``opentelemetry`` is never imported: ``import
helios_async`` does not import it either. With the API present, ``_tracing`` (imported here
on first use) makes the spans and metrics, through the providers given or the global ones;
until an SDK is set up those are OpenTelemetry's no-ops.
"""

from __future__ import annotations

import contextlib
import functools
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import attrs

from ._model_methods import ModelMethods

if TYPE_CHECKING:
    from ._models import ModelRun, ModelRunCreated
    from ._protocol import ApiRequest, ApiResponse
    from ._recording import PreparedRecording

__all__ = ["Telemetry"]


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Telemetry(ModelMethods):
    """How a :class:`~helios_async.HeliosClient` traces and meters itself with OpenTelemetry.

    Needs ``pip install 'helios-async[otel]'`` (the ``opentelemetry-api`` package only; set
    up the SDK in your application). Without it, or with ``enabled=False``, the client makes
    no span or metric and costs nothing.

    ``tracer_provider`` and ``meter_provider`` default to OpenTelemetry's global ones (its
    proxies: an SDK set up after the client was made is used from then on).
    ``poll_spans=True`` makes each poll of a wait a span of its own instead of an event on
    the wait span. ``include_labels=True`` is the one switch that lets user labels out: the
    ``helios.user.label`` attribute on each check's span. Transcripts and tags never go
    out, and labels never become metric attributes. Hooks are not governed by it: they are
    the caller's own code and get what the client decoded.

    While enabled, the client's spans stand for its HTTP requests: it marks the context so
    that an HTTP-client instrumentation (such as opentelemetry-instrumentation-aiohttp-client)
    adds no second span, one that would carry the presigned URL's signature.
    """

    enabled: bool = True
    """False: no span, no metric, no trace context, whatever is installed."""
    tracer_provider: Any = None
    """An ``opentelemetry.trace.TracerProvider``; None: the global one."""
    meter_provider: Any = None
    """An ``opentelemetry.metrics.MeterProvider``; None: the global one."""
    poll_spans: bool = False
    """Each poll a ``helios.poll`` span of its own, instead of an event on the wait span."""
    include_labels: bool = False
    """Let user labels out: on each check's span."""


# -- the scopes: what the core calls; these null ones do nothing -------------------------


class _Scope:
    """A context manager that does nothing: the base of the null scopes."""

    __slots__ = ()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class HttpScope(_Scope):
    """One HTTP attempt: ``with runtime.http(request, attempt) as scope:``, then send
    ``scope.outgoing(request)`` and tell ``scope.received(response)``."""

    __slots__ = ()

    def outgoing(self, request: ApiRequest) -> ApiRequest:
        """The request to send: with ``traceparent`` added when it goes to the API host."""
        return request

    def received(self, response: ApiResponse) -> None:
        """The attempt's response, whatever its status."""


class PollScope(_Scope):
    """One poll of a wait: ``with runtime.poll(number) as scope:``, ``scope.seen(run)``."""

    __slots__ = ()

    def seen(self, run: ModelRun) -> None:
        """The run this poll read."""


class CheckScope(_Scope):
    """One wellness check: ``with runtime.check() as scope:`` around all of it, each phase
    in ``with scope.phase(name):``; the rest tells what the check learnt."""

    __slots__ = ()

    def phase(self, name: str) -> AbstractContextManager[None]:
        """A phase: ``"create"``, ``"upload"`` or ``"wait"``."""
        return _NULL_CONTEXT

    def user(self, user_label: str) -> None:
        """The check's user (only ever shown with ``include_labels``)."""

    def recording(self, recording: PreparedRecording) -> None:
        """The checked recording: format, size and duration."""

    def created(self, created: ModelRunCreated) -> None:
        """A run was created (again, after an expired URL)."""

    def polled(self, run: ModelRun) -> None:
        """A poll of the wait phase read ``run``."""

    def finished(self, run: ModelRun) -> None:
        """The run the check ended with, whatever its status."""


class Runtime:
    """What the core calls; this one, :data:`NULL`, makes nothing."""

    include_labels = False

    @property
    def enabled(self) -> bool:
        """Whether calls make spans and metrics at this moment (never, for :data:`NULL`)."""
        return False

    def http(self, request: ApiRequest, attempt: int) -> HttpScope:
        """The scope of attempt ``attempt`` (1-based) at ``request``."""
        return _NULL_HTTP

    def check(self) -> CheckScope:
        """The scope of one wellness check."""
        return _NULL_CHECK

    def wait(self, model_run_id: str) -> AbstractContextManager[None]:
        """The scope of a wait outside a check (``wait_for_model_run``)."""
        return _NULL_CONTEXT

    def poll(self, number: int) -> PollScope:
        """The scope of poll ``number`` (1-based) of the wait in progress."""
        return _NULL_POLL


_NULL_CONTEXT: AbstractContextManager[None] = contextlib.nullcontext()
_NULL_HTTP = HttpScope()
_NULL_POLL = PollScope()
NULL_CHECK = _NULL_CHECK = CheckScope()
NULL = Runtime()


def runtime(telemetry: Telemetry | None) -> Runtime:
    """The runtime of these options: :data:`NULL` when disabled or without the API."""
    options = Telemetry() if telemetry is None else telemetry
    if not isinstance(options, Telemetry):
        from ._errors import InvalidInputError

        raise InvalidInputError("telemetry", f"must be a Telemetry, not {type(options).__name__}")
    if not options.enabled or not api_available():
        return NULL
    from ._tracing import OtelRuntime

    return OtelRuntime(options)


@functools.cache
def api_available() -> bool:
    """Whether ``opentelemetry-api`` can be imported (tried once per process)."""
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        return False
    return True
