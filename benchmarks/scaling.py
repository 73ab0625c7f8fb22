"""Scaling benchmark: waits and wellness checks at 100, 1,000 and 5,000 in flight; CPU per
unit, GETs per unit, peak RSS and event-loop lag.

Run by hand::

    python benchmarks/scaling.py [--mode waits|checks|both] [--in-flight 100,1000,5000]
                                 [--jobs-per-slot 1] [--delay 5] [--wait-timeout 12]
                                 [--rounds 1]

The sandbox runs in a process of its own (processing delay ``--delay`` seconds, bodies not
recorded); each measurement runs in a fresh child process, sizes alternating in order from
round to round.

- **waits**: the child creates N runs (not measured) and never uploads to them, so they stay
  ``CREATED``; then N ``wait_for_model_run`` calls run at once, each bounded by
  ``--wait-timeout`` seconds and ending with ``DeadlineExceededError``. Every wait makes the
  looks the default ``PollPolicy`` allows in that time, whatever N is, so CPU per wait
  compares the poller at each size. The client keeps its default 100 connections.
- **checks**: ``run_wellness_checks`` over N x ``--jobs-per-slot`` jobs at concurrency N
  (create, upload a 21 KB noise WAV from a file, poll until ``COMPLETE_OK`` after
  ``--delay`` seconds); ``connection_limit`` is N, as the fan-out requires.

Per size: client CPU per unit (user + system, measured phase only, less what the idle loop
and its lag sampler use in the same time, measured for 2 s before), GETs per unit (the
``on_poll`` hook counts them), the child's peak RSS, and the event-loop lag (how late a
10 ms ``asyncio.sleep`` wakes, sampled throughout the measured phase): p99 and max.
Prints one line per mode.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _support import (
    Server,
    load,
    noise_wav,
    own_cpu_seconds,
    peak_rss_mb,
    report,
    run_child,
)

TICK = 0.01


async def idle_cpu_rate(seconds: float = 2.0) -> float:
    """CPU seconds per second an idle loop spends with the lag sampler running: subtracted
    from each measured phase, so that a small size does not carry the sampler's cost."""
    cpu_before, started = own_cpu_seconds(), time.perf_counter()
    with LagMonitor():
        await asyncio.sleep(seconds)
    return (own_cpu_seconds() - cpu_before) / (time.perf_counter() - started)


class LagMonitor:
    """Samples how late a ``TICK``-second sleep wakes, until stopped."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(TICK)
            self.lags.append(loop.time() - started - TICK)

    def __enter__(self) -> LagMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def p99(self) -> float:
        return statistics.quantiles(self.lags, n=100)[98] if len(self.lags) > 1 else 0.0


def user(number: int):  # type: ignore[no-untyped-def]
    from helios_async import User

    return User(user_label=f"scale-{number}", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")


async def waits_child(base_url: str, key: str, size: int, timeout: float) -> None:
    from helios_async import DeadlineExceededError, HeliosClient, Hooks

    gets = 0

    def on_poll(_run: object) -> None:
        nonlocal gets
        gets += 1

    async with HeliosClient(key, base_url=base_url, hooks=Hooks(on_poll=on_poll)) as client:
        gate = asyncio.Semaphore(100)

        async def create(number: int) -> str:
            async with gate:
                return (await client.create_model_run(user=user(number), language="en-GB")).id

        ids = await asyncio.gather(*(create(number) for number in range(size)))
        rss_before, idle = peak_rss_mb(), await idle_cpu_rate()

        async def wait(run_id: str) -> bool:
            try:
                await client.wait_for_model_run(run_id, timeout=timeout)
            except DeadlineExceededError:
                return True
            return False

        cpu_before, started = own_cpu_seconds(), time.perf_counter()
        with LagMonitor() as lag:
            timed_out = sum(await asyncio.gather(*(wait(run_id) for run_id in ids)))
        elapsed = time.perf_counter() - started
        cpu = own_cpu_seconds() - cpu_before - idle * elapsed
    assert timed_out == size, f"{size - timed_out} waits did not time out"
    report(size=size, units=size, cpu=cpu, elapsed=elapsed, gets=gets, rss_mb=peak_rss_mb(),
           rss_before_mb=rss_before, lag_p99=lag.p99(), lag_max=max(lag.lags))  # fmt: skip


async def checks_child(base_url: str, key: str, size: int, jobs_per_slot: int) -> None:
    from helios_async import HeliosClient, Hooks, WellnessJob

    gets = 0

    def on_poll(_run: object) -> None:
        nonlocal gets
        gets += 1

    units = size * jobs_per_slot
    with tempfile.TemporaryDirectory() as folder:
        recording = Path(folder) / "noise.wav"
        recording.write_bytes(noise_wav(10.5))

        def jobs() -> Iterator[WellnessJob]:
            for number in range(units):
                yield WellnessJob(recording=recording, user=user(number), language="en-GB")

        ok = 0
        async with HeliosClient(
            key, base_url=base_url, hooks=Hooks(on_poll=on_poll), connection_limit=size
        ) as client:
            rss_before, idle = peak_rss_mb(), await idle_cpu_rate()
            cpu_before, started = own_cpu_seconds(), time.perf_counter()
            with LagMonitor() as lag:
                async with client.run_wellness_checks(jobs(), concurrency=size) as outcomes:
                    async for outcome in outcomes:
                        ok += outcome.ok
            elapsed = time.perf_counter() - started
            cpu = own_cpu_seconds() - cpu_before - idle * elapsed
    assert ok == units, f"{units - ok} checks failed"
    report(size=size, units=units, cpu=cpu, elapsed=elapsed, gets=gets, rss_mb=peak_rss_mb(),
           rss_before_mb=rss_before, lag_p99=lag.p99(), lag_max=max(lag.lags))  # fmt: skip


def summary(mode: str, results: dict[int, list[dict[str, float]]], args: argparse.Namespace) -> str:
    parts = []
    for size, rounds in results.items():
        cpu = [r["cpu"] / r["units"] * 1e3 for r in rounds]
        gets = [r["gets"] / r["units"] for r in rounds]
        spread = f" ({min(cpu):.2f} to {max(cpu):.2f})" if len(cpu) > 1 else ""
        parts.append(
            f"{size} in flight: CPU {statistics.median(cpu):.2f} ms/{mode[:-1]}{spread}, "
            f"{statistics.median(gets):.2f} GETs/{mode[:-1]}, peak RSS "
            f"{max(r['rss_mb'] for r in rounds):.0f} MB, loop lag p99 "
            f"{max(r['lag_p99'] for r in rounds) * 1e3:.1f} ms (max "
            f"{max(r['lag_max'] for r in rounds) * 1e3:.0f} ms), "
            f"{statistics.median(r['elapsed'] for r in rounds):.1f} s"
        )
    per_unit = [
        statistics.median(r["cpu"] / r["units"] for r in rounds) for rounds in results.values()
    ]
    setting = (
        f"each bounded by {args.wait_timeout:g} s"
        if mode == "waits"
        else f"{args.jobs_per_slot} job(s) per slot, processing {args.delay:g} s"
    )
    return (
        f"scaling {mode} ({setting}, {args.rounds} round(s)): "
        + "; ".join(parts)
        + f"; CPU per unit max/min {max(per_unit) / min(per_unit):.2f}; {load()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["waits", "checks", "both"], default="both")
    parser.add_argument("--in-flight", default="100,1000,5000")
    parser.add_argument("--jobs-per-slot", type=int, default=1)
    parser.add_argument("--delay", type=float, default=5.0)
    parser.add_argument("--wait-timeout", type=float, default=12.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", choices=["waits", "checks"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "waits":
        asyncio.run(waits_child(args.base_url, args.key, args.size, args.wait_timeout))
        return
    if args.child == "checks":
        asyncio.run(checks_child(args.base_url, args.key, args.size, args.jobs_per_slot))
        return

    sizes = [int(size) for size in args.in_flight.split(",")]
    modes = ["waits", "checks"] if args.mode == "both" else [args.mode]
    with Server("_sandbox_server.py", "--delay", str(args.delay)) as sandbox:
        base_url, key = sandbox.info["base_url"], sandbox.info["api_key"]
        for mode in modes:
            results: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
            for number in range(args.rounds):
                for size in sizes if number % 2 == 0 else sizes[::-1]:
                    child_args = [
                        "--child", mode, "--size", str(size), "--base-url", base_url,
                        "--key", key, "--jobs-per-slot", str(args.jobs_per_slot),
                        "--wait-timeout", str(args.wait_timeout),
                    ]  # fmt: skip
                    results[size].append(run_child("scaling.py", *child_args, server=sandbox))
            print(summary(mode, results, args), flush=True)


if __name__ == "__main__":
    main()
