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
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
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


def test_with_the_api_and_no_sdk_the_runtime_uses_the_global_no_op_providers() -> None:
    runtime = _telemetry.runtime(None)
    assert runtime.enabled
    with runtime.check() as check, check.phase("create"):
        pass  # OpenTelemetry's no-op spans: nothing recorded, nothing raised


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
