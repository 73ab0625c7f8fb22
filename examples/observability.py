"""Trace and meter a wellness check with OpenTelemetry: spans and metrics to the console.

    pip install 'helios-async[otel]' opentelemetry-sdk
    THYMIA_API_KEY=... python examples/observability.py   # against the real API
    python examples/observability.py --sandbox            # offline, on a local sandbox

Set the SDK up once, at start-up: the client takes the global tracer and meter providers
(or the ones you pass in ``Telemetry``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from helios_async import HeliosClient, Telemetry, User
from helios_async.testing import Sandbox, sample_recording


def set_up_opentelemetry() -> tuple[TracerProvider, MeterProvider]:
    """The SDK, exporting to stdout; use your collector's exporter (OTLP) in production."""
    resource = Resource.create({"service.name": "wellness-worker"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    reader = PeriodicExportingMetricReader(ConsoleMetricExporter())
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider


async def main(base_url: str | None, api_key: str | None) -> None:
    """One check; ``base_url``/``api_key`` of None fall back to the environment."""
    user = User(user_label="user-42", date_of_birth=dt.date(1990, 8, 24), birth_sex="FEMALE")
    telemetry = Telemetry(poll_spans=False)  # the default: each poll is a span event
    async with HeliosClient(api_key, base_url=base_url, telemetry=telemetry) as client:
        run = await client.run_wellness_check(sample_recording(), user=user, language="en-GB")
        print(run.status)


async def _cli(argv: list[str]) -> None:
    if "--sandbox" in argv:
        async with Sandbox(processing_delay=0.5) as sandbox:
            await main(sandbox.base_url, sandbox.api_key)
    else:
        await main(None, None)


if __name__ == "__main__":
    tracer_provider, meter_provider = set_up_opentelemetry()
    try:
        asyncio.run(_cli(sys.argv[1:]))
    finally:
        tracer_provider.shutdown()  # flushes the spans still batched
        meter_provider.shutdown()  # and exports the metrics once more
