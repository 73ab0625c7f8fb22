"""``_telemetry``: optional OpenTelemetry. Without the API nothing is imported and nothing
costs; with it, our spans stand for the HTTP requests and an aiohttp client instrumentation
adds none of its own (they would carry the presigned URL's signature)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from otel_support import Recorded

from helios_async import BirthSex, HeliosClient, Telemetry, User, _telemetry
from helios_async.testing import FAST_POLL, Sandbox, sample_recording

USER = User(user_label="otel-user", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.FEMALE)


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_importing_the_package_imports_no_opentelemetry() -> None:
    printed = _python(
        """
        import sys
        import helios_async, helios_async.testing
        print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
        """
    )
    assert printed == "[]"


def test_without_the_api_a_check_runs_and_nothing_is_traced() -> None:
    """The ``otel`` extra is optional: with ``opentelemetry`` unimportable, the runtime is the
    null one and a whole check through the sandbox still works."""
    printed = _python(
        """
        import asyncio, datetime as dt, sys
        sys.modules["opentelemetry"] = None  # as if not installed: importing it fails
        from helios_async import BirthSex, HeliosClient, Telemetry, User, _telemetry
        from helios_async.testing import FAST_POLL, Sandbox, sample_recording

        async def main():
            user = User(user_label="u", date_of_birth=dt.date(1990, 1, 1), birth_sex="MALE")
            async with Sandbox() as sandbox:
                async with HeliosClient(
                    sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL,
                    telemetry=Telemetry(poll_spans=True),
                ) as client:
                    assert client._operations.telemetry is _telemetry.NULL
                    run = await client.run_wellness_check(
                        sample_recording(), user=user, language="en-GB"
                    )
            print(run.status, _telemetry.api_available())

        asyncio.run(main())
        """
    )
    assert printed == "COMPLETE_OK False"


def test_with_the_api_and_no_sdk_the_runtime_takes_the_path_of_telemetry_off() -> None:
    """No provider set (the API's global stand-ins): no span, scope or metric is made."""
    runtime = _telemetry.runtime(None)
    assert not runtime.enabled
    assert runtime.check() is _telemetry.NULL_CHECK
    assert runtime.poll(1) is _telemetry.NULL.poll(1)
    with runtime.wait("a-run-id"):
        pass


def test_a_provider_given_or_set_later_turns_the_runtime_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An injected provider, or a global one an application sets after making the client."""
    assert _telemetry.runtime(Telemetry(tracer_provider=TracerProvider())).enabled
    assert _telemetry.runtime(Telemetry(meter_provider=MeterProvider())).enabled
    runtime = _telemetry.runtime(None)
    assert not runtime.enabled
    monkeypatch.setattr(trace, "get_tracer_provider", TracerProvider)
    assert not runtime.enabled  # looked at once a second, not on every call
    monkeypatch.setattr(runtime, "_next_look", float("-inf"))  # as a second later
    assert runtime.enabled
    assert runtime.check() is not _telemetry.NULL_CHECK


@pytest.fixture
def otel() -> Iterator[Recorded]:
    recorded = Recorded()
    yield recorded
    recorded.shutdown()


@pytest.fixture
def instrumented(otel: Recorded) -> Iterator[None]:
    """aiohttp's client instrumentation, on the same tracer provider, for this test only."""
    instrumentor = AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider)
    yield
    instrumentor.uninstrument()


async def _check(sandbox: Sandbox, telemetry: Telemetry) -> None:
    async with HeliosClient(
        sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL, telemetry=telemetry
    ) as client:
        await client.run_wellness_check(sample_recording(), user=USER, language="en-GB")


@pytest.mark.usefixtures("instrumented")
async def test_the_aiohttp_instrumentation_adds_no_duplicate_spans_while_ours_are_on(
    otel: Recorded,
) -> None:
    async with Sandbox() as sandbox:
        await _check(sandbox, otel.telemetry())
        requests = len(sandbox.requests)
    scopes = {
        span.instrumentation_scope.name for span in otel.spans() if span.instrumentation_scope
    }
    assert scopes == {"helios_async"}
    clients = [span for span in otel.spans() if span.kind.name == "CLIENT"]
    assert len(clients) == requests  # one CLIENT span per request sent, ours


@pytest.mark.usefixtures("instrumented")
async def test_with_ours_off_the_instrumentation_traces_as_it_would(otel: Recorded) -> None:
    """The other side of the test above: the instrumentation is live in this test setup, and
    its span of the upload shows why ours suppress it (the signature is not redacted)."""
    async with Sandbox() as sandbox:
        await _check(sandbox, Telemetry(enabled=False))
        requests = len(sandbox.requests)
    theirs = [span for span in otel.spans() if span.kind.name == "CLIENT"]
    assert len(theirs) == requests
    assert {span.instrumentation_scope.name for span in theirs} != {"helios_async"}  # type: ignore[union-attr]
    urls = [str(value) for span in theirs for value in (span.attributes or {}).values()]
    signed = [url for url in urls if "X-Sandbox-Signature=" in url]
    assert signed and "X-Sandbox-Signature=REDACTED" not in signed[0]
