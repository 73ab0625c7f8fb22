"""A local Helios server for tests, benchmarks and demos: ``helios_async.testing``.

:class:`Sandbox` speaks the Helios API on two loopback listeners: the API host and an
object-storage host for the presigned upload URLs. It validates requests like the real
service, runs the model-run lifecycle CREATED -> RUNNING -> COMPLETE_OK | COMPLETE_ERROR
lazily from an injectable clock, decides outcomes from the uploaded audio (format, duration,
silence), and returns deterministic, clearly simulated scores (see
https://helios-async.readthedocs.io/helios/#sandbox-rules)::

    from helios_async.testing import Sandbox, sample_recording

    async with Sandbox(processing_delay=0.5) as sandbox:
        async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url) as client:
            ...  # create a run, upload sample_recording(), poll it
        assert sandbox.runs_created() == 1
        assert any(request.host == "storage" for request in sandbox.requests)

Fault injection: give the sandbox a seeded :class:`FaultPlan` and it answers
chosen requests per route with 5xx, 429 (``Retry-After`` in seconds or as an HTTP date),
gateway HTML, garbled JSON, resets before/after the handler or mid-body, truncated bodies,
slow answers, runs that never finish and presigned URLs that expire early::

    plan = FaultPlan.chaos(seed=1, rate=0.2)  # every fault kind, 20 % of requests per route
    async with Sandbox(faults=plan) as sandbox:
        ...
        assert sandbox.runs_created("user-17") <= 1  # never a duplicate run

:class:`MockTransport` is the in-memory alternative: no server at all, a function answers
each request (``HeliosClient(transport=MockTransport(handler))``, see its module).

Units are seconds throughout. The scores mean nothing: they are derived from a SHA-256 of
the audio, and every result says so in its ``warnings``.
"""

from helios_async.testing._fault_plan import FaultPlan, FaultRule, InjectedFault
from helios_async.testing._faults import (
    MAX_SLOW_SECONDS,
    ROUTES,
    ErrorStatus,
    Fault,
    GatewayHtml,
    MalformedJson,
    NeverFinishes,
    RateLimited,
    Reset,
    ResetMidBody,
    Route,
    Slow,
    Truncate,
    UrlExpired,
    chaos_menu,
)
from helios_async.testing._mock_transport import MockHandler, MockTransport, mock_response
from helios_async.testing._policies import FAST_POLL, FAST_RETRY
from helios_async.testing._recording import RecordedRequest
from helios_async.testing._sandbox import Sandbox, sample_recording

__all__ = [
    "FAST_POLL",
    "FAST_RETRY",
    "MAX_SLOW_SECONDS",
    "ROUTES",
    "ErrorStatus",
    "Fault",
    "FaultPlan",
    "FaultRule",
    "GatewayHtml",
    "InjectedFault",
    "MalformedJson",
    "MockHandler",
    "MockTransport",
    "NeverFinishes",
    "RateLimited",
    "RecordedRequest",
    "Reset",
    "ResetMidBody",
    "Route",
    "Sandbox",
    "Slow",
    "Truncate",
    "UrlExpired",
    "chaos_menu",
    "mock_response",
    "sample_recording",
]

from helios_async import _naming

_naming.adopt(__name__, globals(), __all__)
