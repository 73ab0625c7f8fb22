"""Fan-out machinery: CPU per job of ``run_wellness_checks`` at 100, 1,000 and 5,000 in
flight, on a stub transport (no sockets, no server), so only the client's own work counts.

Run by hand::

    python benchmarks/machinery.py [--in-flight 100,1000,5000] [--jobs 10000]
                                   [--latency 0.05] [--rounds 2]

The stub answers every request after ``--latency`` seconds (an ``asyncio.sleep``, so that
the checks really are in flight together): a create gets a new run id, the upload 200, the
first poll ``COMPLETE_OK`` with the §7 body. Each job is a whole check (create, upload of a
21 KB WAV given as bytes, one poll). Each size runs ``--jobs`` jobs at concurrency N in a
fresh child process; sizes alternate in order from round to round.

Telemetry is off (``Telemetry(enabled=False)``) unless ``--telemetry``: its spans are not
the fan-out's machinery. Prints one line: CPU per job at each size (median over rounds, with
the range), and the ratio of the largest to the smallest (target <= 1.5: CPU per job flat in
concurrency); then, per size, what CPython's cyclic garbage collector took of it (its CPU
per job, timed by ``gc.callbacks``, and its full collections), the CPU per job without it,
and the GC-tracked objects per check in flight (``gc.get_objects()`` counted once, half-way,
against the count before the fan-out started; that count's own CPU is not charged). The
collector's thresholds are never changed: a library must not.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

from _support import load, noise_wav, own_cpu_seconds, report, run_child
from converter import RUN_COMPLETE_OK


class StubTransport:
    """A ``helios_async.Transport`` that answers at once (after ``latency`` seconds)."""

    def __init__(self, latency: float) -> None:
        from multidict import CIMultiDict, CIMultiDictProxy

        from helios_async import ApiResponse

        self._latency = latency
        self._response = ApiResponse
        self._headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
        self._done = json.dumps(RUN_COMPLETE_OK).encode()

    async def send(self, request: Any, *, timeouts: Any) -> Any:
        await asyncio.sleep(self._latency)
        if request.method == "POST":
            run_id = str(uuid.uuid4())
            body = json.dumps({"id": run_id, "recordingUploadUrl": f"https://s/{run_id}?sig=x"})
            return self._response(status=201, headers=self._headers, body=body.encode())
        if request.method == "PUT":
            return self._response(status=200, headers=self._headers, body=b"")
        return self._response(status=200, headers=self._headers, body=self._done)

    async def aclose(self) -> None:
        pass


async def child(size: int, jobs: int, latency: float, telemetry: bool) -> None:
    from helios_async import HeliosClient, PollPolicy, Telemetry, User, WellnessJob

    recording = noise_wav(10.5)
    user = User(user_label="machinery", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")

    def work() -> Iterator[WellnessJob]:
        for number in range(jobs):
            yield WellnessJob(recording=recording, user=user, language="en-GB", key=number)

    ok = 0
    collector = Collector()
    poll = PollPolicy(first_interval=0.05, interval=0.1)
    async with HeliosClient(
        "stub-key",
        transport=StubTransport(latency),
        poll=poll,
        telemetry=Telemetry(enabled=telemetry),
    ) as client:
        tracked_before = len(gc.get_objects())
        per_check, sampling = 0.0, 0.0
        cpu_before, started = own_cpu_seconds(), time.perf_counter()
        collector.start()
        async with client.run_wellness_checks(work(), concurrency=size) as outcomes:
            async for outcome in outcomes:
                ok += outcome.ok
                if ok == jobs // 2:  # half-way: as many in flight as ever
                    sample_started = own_cpu_seconds()
                    per_check = (len(gc.get_objects()) - tracked_before) / outcomes.in_flight
                    sampling = own_cpu_seconds() - sample_started
        collector.stop()
        cpu = own_cpu_seconds() - cpu_before - sampling
        elapsed = time.perf_counter() - started
    assert ok == jobs, f"{jobs - ok} jobs failed"
    report(size=size, jobs=jobs, cpu=cpu, elapsed=elapsed, gc_cpu=collector.cpu,
           full_collections=collector.full, objects_per_check=per_check)  # fmt: skip


class Collector:
    """The CPU the cyclic garbage collector takes (``gc.callbacks``), and its full
    collections, between ``start()`` and ``stop()``."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.full = 0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.thread_time()
            return
        self.cpu += time.thread_time() - self._began
        self.full += info["generation"] == 2

    def start(self) -> None:
        gc.callbacks.append(self)

    def stop(self) -> None:
        gc.callbacks.remove(self)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in-flight", default="100,1000,5000")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--telemetry", action="store_true", help="as installed (default: Telemetry off)"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(child(args.child, args.jobs, args.latency, args.telemetry))
        return
    sizes = [int(size) for size in args.in_flight.split(",")]
    per_job: dict[int, list[float]] = {size: [] for size in sizes}
    collected: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
    for number in range(args.rounds):
        for size in sizes if number % 2 == 0 else sizes[::-1]:
            figures = run_child(
                "machinery.py", "--child", str(size), "--jobs", str(args.jobs),
                "--latency", str(args.latency), *(["--telemetry"] if args.telemetry else []),
            )  # fmt: skip
            per_job[size].append(figures["cpu"] / figures["jobs"] * 1e6)
            collected[size].append(figures)
    medians = {size: statistics.median(values) for size, values in per_job.items()}
    shown = ", ".join(
        f"{size} in flight {medians[size]:.0f} us ({min(v):.0f} to {max(v):.0f})"
        for size, v in per_job.items()
    )
    print(
        f"machinery: {args.jobs} checks on a stub transport ({args.latency * 1000:g} ms per "
        f"request), telemetry {'as installed' if args.telemetry else 'off'}, {args.rounds} "
        f"rounds: CPU per job {shown}; max/min "
        f"{max(medians.values()) / min(medians.values()):.2f} (target <= 1.5); {load()}"
    )
    parts = []
    for size, rounds in collected.items():
        gc_us = statistics.median(r["gc_cpu"] / r["jobs"] * 1e6 for r in rounds)
        rest = statistics.median((r["cpu"] - r["gc_cpu"]) / r["jobs"] * 1e6 for r in rounds)
        parts.append(
            f"{size} in flight: GC {gc_us:.0f} us/job "
            f"({statistics.median(r['full_collections'] for r in rounds):.0f} full collections), "
            f"without GC {rest:.0f} us/job, "
            f"{statistics.median(r['objects_per_check'] for r in rounds):.0f} tracked objects "
            "per check in flight"
        )
    print("machinery, garbage collector: " + "; ".join(parts))


if __name__ == "__main__":
    main()
