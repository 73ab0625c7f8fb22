"""Chaos benchmark: thousands of wellness checks through a faulty sandbox (issue 3).

Run by hand (nothing here runs on import)::

    python benchmarks/chaos.py [--checks 2000] [--fault-rate 0.2] [--seed N]
                               [--concurrency 50] [--expired-url-restarts 1]

It starts a :class:`~helios_async.testing.Sandbox` on 127.0.0.1 whose
:meth:`FaultPlan.chaos <helios_async.testing.FaultPlan.chaos>` plan faults every route
(account, create, activity, get, upload) at ``--fault-rate`` with every fault kind, runs
``--checks`` calls of ``HeliosClient.run_wellness_check`` (each with its own user label,
``--concurrency`` at a time, each bounded by ``--deadline`` seconds) and prints:

* checks, completed correctly (a ``COMPLETE_OK`` run that is the label's run, with results),
  failed with a typed error (by class), untyped failures (must be 0);
* duplicate runs (must be 0): a label with more runs than one, plus one abandoned run per
  expired URL the client restarted from (helios-api.md §4, D13); duplicate billable runs
  (must be 0): a label with two runs that got a recording;
* leaked sockets, file descriptors and tasks after client and sandbox closed, and event-loop
  error reports (all must be 0);
* wall time (seconds) and checks per second.

The exit status is 0 when every "must be 0" figure is 0, else 1. Everything is bounded:
each check has a deadline, every fault pause is capped, and the loops end by themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import gc
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import attrs

from helios_async import (
    BirthSex,
    HeliosClient,
    HeliosError,
    ModelRun,
    ModelRunStatus,
    PollPolicy,
    RetryPolicy,
    Timeouts,
    User,
)
from helios_async.testing import FaultPlan, Sandbox, UrlExpired, sample_recording

__all__ = ["ChaosReport", "main", "run_chaos"]


@attrs.frozen(kw_only=True)
class Settings:
    """What to run: sizes, rates and the (fast) client policies. Times in seconds."""

    checks: int = 2000
    fault_rate: float = 0.2
    seed: int = 0
    concurrency: int = 50
    expired_url_restarts: int = 1
    deadline: float = 5.0  # per check; bounds a run that never finishes
    slow_seconds: float = 0.5  # the Slow fault's pause, above the read timeout
    read_timeout: float = 0.25
    processing_delay: float = 0.05  # how long a sandbox run stays RUNNING


@attrs.frozen(kw_only=True)
class ChaosReport:
    """The figures of one benchmark run."""

    settings: Settings
    completed: int
    typed_errors: dict[str, int]
    untyped: dict[str, int]
    wrong_results: int
    duplicate_runs: int
    duplicate_billable_runs: int
    abandoned_runs: int
    faults: dict[str, int]
    leaked_sockets: int
    leaked_fds: int
    leaked_tasks: int
    loop_reports: int
    wall_seconds: float

    @property
    def must_be_zero(self) -> dict[str, int]:
        return {
            "untyped failures": sum(self.untyped.values()),
            "wrong results": self.wrong_results,
            "duplicate runs": self.duplicate_runs,
            "duplicate billable runs": self.duplicate_billable_runs,
            "leaked sockets": self.leaked_sockets,
            "leaked fds": self.leaked_fds,
            "leaked tasks": self.leaked_tasks,
            "event-loop error reports": self.loop_reports,
        }

    @property
    def ok(self) -> bool:
        return not any(self.must_be_zero.values())

    def render(self) -> str:
        s = self.settings
        lines = [
            f"helios-async chaos benchmark: {s.checks} checks, fault rate {s.fault_rate:.2f} on "
            f"every route, seed {s.seed}, concurrency {s.concurrency}, "
            f"expired-URL restarts {s.expired_url_restarts}",
            f"  {'checks':<34}{s.checks:>8}",
            f"  {'completed correctly':<34}{self.completed:>8}",
            f"  {'failed with a typed error':<34}{sum(self.typed_errors.values()):>8}",
        ]
        for name, count in sorted(self.typed_errors.items(), key=lambda item: -item[1]):
            lines.append(f"      {name:<30}{count:>8}")
        for name, count in self.must_be_zero.items():
            lines.append(f"  {name:<34}{count:>8}   (must be 0)")
        for name, count in sorted(self.untyped.items()):
            lines.append(f"      untyped {name:<22}{count:>8}")
        lines += [
            f"  {'abandoned runs (URL restarts)':<34}{self.abandoned_runs:>8}",
            f"  {'faults injected':<34}{sum(self.faults.values()):>8}",
        ]
        for name, count in sorted(self.faults.items(), key=lambda item: -item[1]):
            lines.append(f"      {name:<30}{count:>8}")
        lines += [
            f"  {'wall time':<34}{self.wall_seconds:>8.2f} s",
            f"  {'throughput':<34}{s.checks / self.wall_seconds:>8.1f} checks/s",
            f"  {'verdict':<34}{'PASS' if self.ok else 'FAIL':>8}",
        ]
        return "\n".join(lines)


def _open_fds() -> list[str]:
    """Targets of this process's open descriptors (sockets read ``socket:[inode]``)."""
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # listdir's own descriptor, closed meanwhile
            continue
    return targets


def _user(label: str) -> User:
    return User(user_label=label, date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.MALE)


async def run_chaos(settings: Settings) -> ChaosReport:
    """Run the benchmark in the running event loop and return its figures."""
    loop = asyncio.get_running_loop()
    reports: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    gc.collect()
    fds_before = _open_fds()
    tasks_before = asyncio.all_tasks()
    plan = FaultPlan.chaos(
        settings.seed, rate=settings.fault_rate, slow_seconds=settings.slow_seconds
    )
    labels = [f"chaos-{settings.seed}-{n:05d}" for n in range(settings.checks)]
    gate = asyncio.Semaphore(settings.concurrency)
    recording = sample_recording()
    outcomes: list[ModelRun | BaseException] = []
    started = time.perf_counter()
    async with (
        Sandbox(
            faults=plan, processing_delay=settings.processing_delay, record_bodies=False
        ) as sandbox,
        HeliosClient(
            sandbox.api_key,
            base_url=sandbox.base_url,
            retry=RetryPolicy(
                attempts=4,
                backoff_initial=0.005,
                backoff_max=0.05,
                total_timeout=settings.deadline,
                max_retry_after=0.05,
            ),
            poll=PollPolicy(first_interval=0.02, interval=0.05, timeout=settings.deadline),
            timeouts=Timeouts(connect=2.0, read=settings.read_timeout, upload=10.0),
        ) as client,
    ):

        async def check(label: str) -> ModelRun:
            async with gate:
                return await client.run_wellness_check(
                    recording,
                    user=_user(label),
                    language="en-GB",
                    deadline=settings.deadline,
                    expired_url_restarts=settings.expired_url_restarts,
                )

        outcomes = await asyncio.gather(*map(check, labels), return_exceptions=True)
    wall = time.perf_counter() - started

    typed: collections.Counter[str] = collections.Counter()
    untyped: collections.Counter[str] = collections.Counter()
    completed = wrong = 0
    for label, outcome in zip(labels, outcomes, strict=True):
        if isinstance(outcome, ModelRun):
            right = (
                outcome.status is ModelRunStatus.COMPLETE_OK
                and outcome.results is not None
                and outcome.id in sandbox.run_ids(label)
            )
            completed += right
            wrong += not right
        elif isinstance(outcome, HeliosError):
            typed[type(outcome).__name__] += 1
        else:
            untyped[type(outcome).__name__] += 1

    expired_urls = collections.Counter(
        request.path.rsplit("/", 1)[-1]
        for request in sandbox.requests
        if isinstance(request.fault, UrlExpired)
    )
    runs: dict[str, list[str]] = collections.defaultdict(list)
    for label in labels:
        runs[label] = sandbox.run_ids(label)
    duplicates = abandoned = 0
    for ids in runs.values():
        restarts = min(settings.expired_url_restarts, sum(expired_urls[i] > 0 for i in ids))
        abandoned += min(len(ids) - 1, restarts) if ids else 0
        duplicates += max(len(ids) - 1 - restarts, 0)
    billable = sum(sandbox.runs_started(label) > 1 for label in labels)

    del outcomes
    gc.collect()
    for _ in range(3):
        await asyncio.sleep(0)
    fds_after = _open_fds()
    sockets = sum(t.startswith("socket:") for t in fds_after) - sum(
        t.startswith("socket:") for t in fds_before
    )
    return ChaosReport(
        settings=settings,
        completed=completed,
        typed_errors=dict(typed),
        untyped=dict(untyped),
        wrong_results=wrong,
        duplicate_runs=duplicates,
        duplicate_billable_runs=billable,
        abandoned_runs=abandoned,
        faults=dict(collections.Counter(type(i.fault).__name__ for i in plan.injected)),
        leaked_sockets=max(sockets, 0),
        leaked_fds=max(len(fds_after) - len(fds_before), 0),
        leaked_tasks=len(asyncio.all_tasks() - tasks_before),
        loop_reports=len(reports),
        wall_seconds=wall,
    )


def _parse(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--checks", type=int, default=2000, help="wellness checks to run")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="per route, 0 to 1")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault plan")
    parser.add_argument("--concurrency", type=int, default=50, help="checks in flight")
    parser.add_argument(
        "--expired-url-restarts", type=int, default=1, help="run_wellness_check's setting"
    )
    parser.add_argument("--deadline", type=float, default=5.0, help="seconds per check")
    args = parser.parse_args(argv)
    if args.checks < 1 or args.concurrency < 1 or not 0.0 < args.fault_rate <= 1.0:
        parser.error("--checks and --concurrency must be >= 1; --fault-rate in (0, 1]")
    return Settings(
        checks=args.checks,
        fault_rate=args.fault_rate,
        seed=args.seed,
        concurrency=args.concurrency,
        expired_url_restarts=args.expired_url_restarts,
        deadline=args.deadline,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print its figures; 0 if every must-be-0 figure is 0, else 1."""
    report = asyncio.run(run_chaos(_parse(argv)))
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
