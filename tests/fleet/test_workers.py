"""The fleet as deployed: worker subprocesses on a real Redis against the sandbox.

A worker killed with SIGKILL mid-run loses no job and bills no run twice; one 429 with
``Retry-After`` pauses the creates of every worker. Workers run with a 2 s redelivery
timeout and fast polls, so the whole file takes well under a minute."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from typing import Any

import pytest

from helios_async import User, WellnessJob
from helios_async.fleet import Fleet, FleetOutcome
from helios_async.testing import (
    FaultPlan,
    RateLimited,
    RecordedRequest,
    Sandbox,
    Slow,
    sample_recording,
)

from .conftest import Workers

pytestmark = pytest.mark.usefixtures("clean_redis")


def jobs(count: int, prefix: str) -> list[WellnessJob]:
    return [
        WellnessJob(
            recording=sample_recording(),
            user=User(
                user_label=f"{prefix}-{index:03d}",
                date_of_birth=dt.date(1990, 8, 24),
                birth_sex="FEMALE",
            ),
            language="en-GB",
            key=f"{prefix}-{index:03d}",
        )
        for index in range(count)
    ]


def worker_args(redis_url: str, fleet: str, sandbox: Sandbox, concurrency: int) -> list[str]:
    return [
        "--redis",
        redis_url,
        "--fleet",
        fleet,
        "--concurrency",
        str(concurrency),
        "--redelivery-timeout",
        "2",
        "--poll-interval",
        "0.2",
        "--base-url",
        sandbox.base_url,
    ]


def creates(sandbox: Sandbox) -> list[RecordedRequest]:
    return [r for r in sandbox.requests if r.host == "api" and r.method == "POST"]


def label_of(request: RecordedRequest) -> str:
    return str(json.loads(request.body)["user"]["userLabel"])


def sent_by(request: RecordedRequest, pid: int) -> bool:
    return f"helios-fleet-worker/{pid}" in request.headers.get("User-Agent", "")


async def test_a_worker_killed_mid_run_loses_no_job_and_bills_no_run_twice(
    redis_url: str, fleet_name: str, workers: Workers
) -> None:
    """200 jobs, two workers, one SIGKILLed after 50 results: every job has exactly one
    result; every label has exactly one run created and one uploaded, except a job whose
    create was in flight at the kill, which is reported unknown and never repeated. A fifth
    of the creates are answered 1.5 s late, so the kill usually catches one in flight."""
    plan = FaultPlan(seed=5)
    plan.add("create", Slow(1.5), rate=0.2)
    async with Sandbox(processing_delay=1.0, faults=plan) as sandbox:
        args = worker_args(redis_url, fleet_name, sandbox, concurrency=10)
        victim = await workers.start(*args, api_key=sandbox.api_key)
        survivor = await workers.start(*args, api_key=sandbox.api_key)
        outcomes: dict[str, FleetOutcome] = {}
        kill: dict[str, Any] = {}

        def victims_in_flight() -> set[str]:
            made = {label_of(r) for r in creates(sandbox) if sent_by(r, victim.pid)}
            return made - set(outcomes)

        async def kill_mid_run() -> None:
            """After 50 results, SIGKILL the victim the moment it has creates in flight
            (jobs run in waves: between two, a worker may briefly hold none)."""
            while len(outcomes) < 50 or not victims_in_flight():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            victim.kill()
            kill["in_flight"] = victims_in_flight()

        async with asyncio.timeout(120), Fleet(redis_url, batch="kill", fleet=fleet_name) as fleet:
            await fleet.submit(jobs(200, "kill"))
            killer = asyncio.create_task(kill_mid_run())
            async for outcome in fleet.outcomes():
                assert outcome.key not in outcomes, f"two results for {outcome.key}"
                outcomes[outcome.key] = outcome
            await killer
            counts = await fleet.counts()
            unknown_keys = set(await fleet.unknown())
        assert await victim.wait() == -9
        assert survivor.returncode is None, workers.log(1)

    in_flight_at_kill = kill["in_flight"]
    assert sorted(outcomes) == [f"kill-{index:03d}" for index in range(200)]
    assert (counts.submitted, counts.finished, counts.pending) == (200, 200, 0)
    unknown = {key for key, outcome in outcomes.items() if outcome.unknown}
    assert unknown == unknown_keys
    for label in outcomes:
        if label in unknown:
            # a create in flight at the kill: at most one run, never uploaded, never repeated.
            # Every create of the label came from the victim (so it was sent before the kill;
            # the sandbox may read a request the victim wrote just before dying a moment after
            # the kill, so its arrival time proves nothing), none from the survivor.
            made = [r for r in creates(sandbox) if label_of(r) == label]
            senders = [r.headers.get("User-Agent") for r in made]
            assert all(sent_by(r, victim.pid) for r in made), senders
            assert sandbox.runs_created(label) <= 1
            assert sandbox.runs_started(label) == 0
        else:
            assert outcomes[label].ok, outcomes[label].error
            assert sandbox.runs_created(label) == 1, label
            assert sandbox.runs_started(label) == 1, label
    for index in (0, 1):  # neither the key nor a label or job key reaches a worker's log
        log = workers.log(index)
        assert sandbox.api_key not in log and "kill-" not in log, log[-2000:]
    print(
        f"\nkill test: 200 jobs, 200 results; the killed worker had {len(in_flight_at_kill)} "
        f"runs in flight, finished by the survivor, and {len(unknown)} creates in flight, "
        f"reported unknown; "
        f"{sandbox.runs_created()} runs created, {sandbox.runs_started()} uploaded"
    )


async def test_one_429_pauses_the_creates_of_every_worker_for_its_retry_after(
    redis_url: str, fleet_name: str, workers: Workers
) -> None:
    """A 429 with ``Retry-After: 6`` on one worker's create: no create reaches the API from
    any worker until 6 s after it was answered, except one already on its way then (allowed:
    0.5 s for that, a broadcast needs milliseconds); then both workers create again."""
    plan = FaultPlan(seed=11)
    async with Sandbox(processing_delay=0.3, faults=plan) as sandbox:
        args = worker_args(redis_url, fleet_name, sandbox, concurrency=4)
        first = await workers.start(*args, api_key=sandbox.api_key)
        second = await workers.start(*args, api_key=sandbox.api_key)
        results: list[FleetOutcome] = []
        async with asyncio.timeout(60), Fleet(redis_url, batch="cool", fleet=fleet_name) as fleet:
            await fleet.submit(jobs(60, "cool"))
            async for outcome in fleet.outcomes():
                results.append(outcome)
                if len(results) == 10:
                    plan.add("create", RateLimited(6.0), times=1)
    assert len(results) == 60 and all(outcome.ok for outcome in results)
    answered = [r for r in creates(sandbox) if isinstance(r.fault, RateLimited)]
    assert len(answered) == 1
    limited_at = answered[0].received_at
    quiet_from = limited_at + dt.timedelta(seconds=0.5)
    quiet_until = limited_at + dt.timedelta(seconds=6)
    during = [r for r in creates(sandbox) if quiet_from <= r.received_at < quiet_until]
    assert during == [], [r.received_at - limited_at for r in during]
    after = [r for r in creates(sandbox) if r.received_at >= quiet_until]
    by_worker = Counter(pid for r in after for pid in (first.pid, second.pid) if sent_by(r, pid))
    assert by_worker[first.pid] > 0 and by_worker[second.pid] > 0, by_worker
    before = [r for r in creates(sandbox) if r.received_at < limited_at]
    assert any(sent_by(r, first.pid) for r in before)
    assert any(sent_by(r, second.pid) for r in before)


async def test_sigterm_drains_a_worker_its_checks_finish_and_no_run_is_left_behind(
    redis_url: str, fleet_name: str, workers: Workers
) -> None:
    """SIGTERM mid-run: the worker takes no new job, finishes the checks it had started,
    writes their results and exits 0; a worker started later does the rest, creating no
    run twice."""
    async with Sandbox(processing_delay=1.0) as sandbox:
        args = worker_args(redis_url, fleet_name, sandbox, concurrency=3)
        first = await workers.start(*args, api_key=sandbox.api_key)
        async with asyncio.timeout(60), Fleet(redis_url, batch="drain", fleet=fleet_name) as fleet:
            await fleet.submit(jobs(9, "drain"))
            while (await fleet.counts()).finished == 0:  # noqa: ASYNC110 (bounded above)
                await asyncio.sleep(0.05)
            first.terminate()
            assert await first.wait() == 0, workers.log(0)
            drained = await fleet.counts()
            assert sandbox.runs_created() == sandbox.runs_started() == drained.finished
            assert drained.finished < 9  # it stopped taking jobs
            await workers.start(*args, api_key=sandbox.api_key)
            seen = [outcome async for outcome in fleet.outcomes()]
    assert sorted(outcome.key for outcome in seen) == [f"drain-{i:03d}" for i in range(9)]
    assert all(outcome.ok for outcome in seen)
    for index in range(9):
        assert sandbox.runs_created(f"drain-{index:03d}") == 1
        assert sandbox.runs_started(f"drain-{index:03d}") == 1
