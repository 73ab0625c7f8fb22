"""Polling benchmark: GET requests per run, and the delay between a run's completion and the
client seeing it, against the run's processing time, with the default ``PollPolicy`` (§5).

Run by hand::

    python benchmarks/polling.py [--delays 2,5,10,20] [--runs 8]

For each processing delay (seconds) a sandbox in this process runs ``--runs`` wellness
checks at once on the bundled recording with the default policy (first wait 1 s, growing
1.5x to the documented 3 s, jitter 10 %). Every poll is counted through the ``on_poll``
hook; the detection delay is the wall time at which the finished run was first seen minus
its ``completedAt`` (sandbox clock, the same wall clock). The load is a few requests a
second, so the sandbox is far from being a bottleneck; the slowest GET it answered is shown.

Prints one line: per delay, mean GETs per run and the worst detection delay; then whether
every run was detected within one steady-state interval (3 s, plus the 10 % jitter).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt

from _support import load

from helios_async import HeliosClient, Hooks, ModelRun, PollPolicy, ResponseEvent, User
from helios_async.testing import Sandbox, sample_recording


async def one_delay(delay: float, runs: int) -> dict[str, float]:
    polls: collections.Counter[str] = collections.Counter()
    seen: dict[str, dt.datetime] = {}
    slowest = 0.0

    def on_poll(run: ModelRun) -> None:
        polls[run.id] += 1
        if run.is_finished and run.id not in seen:
            seen[run.id] = dt.datetime.now(dt.UTC)

    def on_response(event: ResponseEvent) -> None:
        nonlocal slowest
        if event.operation == "get_model_run":
            slowest = max(slowest, event.elapsed)

    policy = PollPolicy()
    async with (
        Sandbox(processing_delay=delay, record_bodies=False) as sandbox,
        HeliosClient(
            sandbox.api_key,
            base_url=sandbox.base_url,
            poll=policy,
            hooks=Hooks(on_poll=on_poll, on_response=on_response),
        ) as client,
    ):
        user = User(user_label="poll-bench", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")
        finished = await asyncio.gather(
            *(
                client.run_wellness_check(sample_recording(), user=user, language="en-GB")
                for _ in range(runs)
            )
        )
    late = []
    for run in finished:
        assert run.completed_at is not None
        assert run.run_at is not None
        late.append((seen[run.id] - run.completed_at).total_seconds())
    return {
        "gets": sum(polls.values()) / runs,
        "worst_gets": max(polls.values()),
        "mean_late": sum(late) / runs,
        "worst_late": max(late),
        "slowest_get": slowest,
        "steady": policy.interval * (1 + policy.jitter),
    }


async def run_all(delays: list[float], runs: int) -> dict[float, dict[str, float]]:
    results = await asyncio.gather(*(one_delay(delay, runs) for delay in delays))
    return dict(zip(delays, results, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delays", default="2,5,10,20", help="processing delays, seconds")
    parser.add_argument("--runs", type=int, default=8, help="runs per delay")
    args = parser.parse_args()
    delays = [float(text) for text in args.delays.split(",")]
    results = asyncio.run(run_all(delays, args.runs))
    steady = next(iter(results.values()))["steady"]
    parts = [
        f"{delay:g} s runs: {r['gets']:.1f} GETs/run (max {r['worst_gets']:.0f}), detected "
        f"{r['mean_late']:.2f} s after completion on average, {r['worst_late']:.2f} s at worst"
        for delay, r in results.items()
    ]
    worst = max(r["worst_late"] for r in results.values())
    slowest = max(r["slowest_get"] for r in results.values())
    print(
        f"polling: default PollPolicy, {args.runs} runs per delay: " + "; ".join(parts) + "; "
        f"worst detection delay {worst:.2f} s vs one steady interval {steady:.1f} s: "
        f"{'within' if worst <= steady else 'NOT within'} (target: within); slowest sandbox "
        f"GET {slowest * 1e3:.1f} ms; {load()}"
    )


if __name__ == "__main__":
    main()
