"""Overhead benchmark: ``HeliosClient.get_model_run`` (request + parse into models) against raw
aiohttp (request + ``json()``), on the same sandbox, in one run (issue 4); and what
OpenTelemetry costs the client (issue 12).

Run by hand::

    python benchmarks/overhead.py [--requests 20000] [--concurrency 16] [--rounds 3]

The sandbox runs in a process of its own with one ``COMPLETE_OK`` run (the §7 shape: one
section, eleven scores, a warning); each side runs in a fresh child process that GETs that
run ``--requests`` times, ``--concurrency`` at a time, on one keep-alive connection pool. The
sides alternate ``--rounds`` times after a warm-up; the best round of each counts.

Prints two lines. The first: requests per second of raw aiohttp and of the default client and
their ratio (target >= 0.85), the client CPU per request of each side and the CPU-bound ratio
they imply, and the CPU share of one core the sandbox used while each side ran (under ~90 %
means the sandbox was not the bottleneck; if it is, the CPU-bound ratio is the figure that
measures the client).

The second, telemetry: the same GETs with ``Telemetry(enabled=False)`` are the run without
it, against which three sides are given as ratios of throughput and of CPU per request
(1.00: no cost): the API absent (``opentelemetry`` made unimportable, so the client's
tracing is off), the API installed but no SDK set up (OpenTelemetry's no-op providers: the
default client above), and the SDK on, a span per request through a ``BatchSpanProcessor``
to an exporter that drops them, and the metrics aggregated by an SDK meter provider.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
from _support import (
    Server,
    cpu_seconds,
    load,
    noise_wav,
    own_cpu_seconds,
    ratio,
    report,
    run_child,
)
from yarl import URL

TELEMETRY_SIDES = ("off", "api-absent", "helios", "sdk")


async def helios_side(
    base_url: str, key: str, run_id: str, requests: int, conc: int, variant: str = "helios"
) -> None:
    """The client's GETs; ``variant`` picks its telemetry (see the module docstring)."""
    import sys

    if variant == "api-absent":
        sys.modules["opentelemetry"] = None  # type: ignore[assignment] # as if not installed
    from helios_async import HeliosClient, Telemetry

    telemetry = None
    if variant == "off":
        telemetry = Telemetry(enabled=False)
    elif variant == "sdk":
        telemetry = sdk_telemetry()
    async with HeliosClient(
        key, base_url=base_url, connection_limit=conc, telemetry=telemetry
    ) as client:

        async def worker(count: int) -> None:
            for _ in range(count):
                run = await client.get_model_run(run_id)
                assert run.section is not None

        await measure(lambda: [worker(requests // conc) for _ in range(conc)], requests, variant)


def sdk_telemetry():  # type: ignore[no-untyped-def]
    """SDK providers: every span batched to an exporter that drops it, metrics aggregated."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    from helios_async import Telemetry

    class Dropped(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Dropped()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)


async def raw_side(base_url: str, key: str, run_id: str, requests: int, conc: int) -> None:
    url = f"{base_url}/v1/models/mental-wellness/{run_id}"
    headers = {"x-api-key": key}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as session:

        async def worker(count: int) -> None:
            for _ in range(count):
                async with session.get(url, headers=headers) as response:
                    response.raise_for_status()
                    run = await response.json()
                assert run["results"]["sections"]

        await measure(lambda: [worker(requests // conc) for _ in range(conc)], requests, "raw")


async def measure(workers, requests: int, side: str) -> None:  # type: ignore[no-untyped-def]
    import os

    server_pid = int(os.environ["BENCH_SERVER_PID"])
    server_before, cpu_before = cpu_seconds(server_pid), own_cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*workers())
    elapsed = time.perf_counter() - started
    report(
        side=side,
        requests=requests,
        elapsed=elapsed,
        cpu=own_cpu_seconds() - cpu_before,
        server_cpu=cpu_seconds(server_pid) - server_before,
    )


async def make_run(base_url: str, key: str) -> str:
    """One COMPLETE_OK run, made with plain aiohttp."""
    headers = {"x-api-key": key}
    body = {
        "user": {"userLabel": "bench", "dateOfBirth": "1990-08-24", "birthSex": "MALE"},
        "language": "en-GB",
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base_url}/v1/models/mental-wellness", json=body, headers=headers
        ) as response:
            created = await response.json()
        async with session.put(
            URL(created["recordingUploadUrl"], encoded=True),
            data=noise_wav(10.5),
            headers={"Content-Type": "audio/wav"},
        ) as response:
            assert response.status == 200, await response.text()
        async with session.get(
            f"{base_url}/v1/models/mental-wellness/{created['id']}", headers=headers
        ) as response:
            assert (await response.json())["status"] == "COMPLETE_OK"
    return str(created["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--side", choices=["raw", *TELEMETRY_SIDES], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:
        call = (args.base_url, args.key, args.run_id, args.requests, args.concurrency)
        if args.side == "raw":
            asyncio.run(raw_side(*call))
        else:
            asyncio.run(helios_side(*call, variant=args.side))
        return

    import os

    with Server("_sandbox_server.py") as sandbox:
        base_url, key = sandbox.info["base_url"], sandbox.info["api_key"]
        run_id = asyncio.run(make_run(base_url, key))
        os.environ["BENCH_SERVER_PID"] = str(sandbox.pid)

        def side(name: str, requests: int) -> dict[str, float]:
            return run_child(  # type: ignore[no-any-return]
                "overhead.py",
                "--side", name,
                "--base-url", base_url,
                "--key", key,
                "--run-id", run_id,
                "--requests", str(requests),
                "--concurrency", str(args.concurrency),
            )  # fmt: skip

        sides = ("raw", *TELEMETRY_SIDES)
        for name in sides:
            side(name, 2000)  # warm-up
        results: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name in sides:  # interleaved: every side once per round
                results[name].append(side(name, args.requests))

    best = {
        name: max(rounds, key=lambda r: r["requests"] / r["elapsed"])
        for name, rounds in results.items()
    }
    rate = {name: f["requests"] / f["elapsed"] for name, f in best.items()}
    cpu_us = {name: f["cpu"] / f["requests"] * 1e6 for name, f in best.items()}
    share = {name: f["server_cpu"] / f["elapsed"] for name, f in best.items()}
    client_share = {name: f["cpu"] / f["elapsed"] for name, f in best.items()}
    print(
        f"overhead: get_model_run x{args.requests}, concurrency {args.concurrency}, best of "
        f"{args.rounds}: helios {rate['helios']:.0f}/s, raw aiohttp {rate['raw']:.0f}/s, "
        f"ratio {ratio(rate['helios'], rate['raw']):.2f} (target >= 0.85); client CPU per "
        f"request helios {cpu_us['helios']:.0f} us, raw {cpu_us['raw']:.0f} us, CPU-bound ratio "
        f"{ratio(cpu_us['raw'], cpu_us['helios']):.2f}; CPU share of one core client/sandbox: "
        f"helios {client_share['helios']:.0%}/{share['helios']:.0%}, raw "
        f"{client_share['raw']:.0%}/{share['raw']:.0%}; {load()}"
    )
    shown = {"api-absent": "API absent", "helios": "API, no SDK", "sdk": "SDK, no-op exporter"}
    figures = ", ".join(
        f"{label} {rate[name]:.0f}/s ({cpu_us[name]:.0f} us CPU): throughput ratio "
        f"{ratio(rate[name], rate['off']):.2f}, CPU ratio {ratio(cpu_us['off'], cpu_us[name]):.2f}"
        for name, label in shown.items()
    )
    print(
        f"telemetry: against Telemetry(enabled=False) {rate['off']:.0f}/s "
        f"({cpu_us['off']:.0f} us CPU per request): {figures}; {load()}"
    )


if __name__ == "__main__":
    main()
