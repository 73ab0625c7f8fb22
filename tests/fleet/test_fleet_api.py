"""``Fleet`` end to end in one process, on Docket's in-memory backend and on Redis: a worker
task, the sandbox, submit and outcomes; and what a redelivered job does with its journal."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator

import pytest

from helios_async import HeliosClient, JobState, JournalEntry, User, WellnessJob
from helios_async._journal_redis import RedisJournal
from helios_async.fleet import Fleet, WorkerOptions, run_worker
from helios_async.fleet._docket import Engine
from helios_async.fleet._names import FleetNames
from helios_async.fleet._state import BatchState
from helios_async.testing import Sandbox, sample_recording

from .conftest import delete_fleet


def job(index: int, prefix: str = "api") -> WellnessJob:
    return WellnessJob(
        recording=sample_recording(),
        user=User(
            user_label=f"{prefix}-{index:03d}", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE"
        ),
        language="en-GB",
        key=f"{prefix}-{index:03d}",
    )


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(processing_delay=0.05) as running:
        yield running


@pytest.fixture
async def fleet(backend_url: str, fleet_name: str) -> AsyncIterator[Fleet]:
    async with Fleet(backend_url, batch="api", fleet=fleet_name, max_pending=4) as opened:
        try:
            yield opened
        finally:
            if not backend_url.startswith("memory://"):
                await delete_fleet(opened._engine, fleet_name)


def worker(url: str, fleet_name: str, sandbox: Sandbox, **options: object) -> asyncio.Task[None]:
    settings = WorkerOptions(
        redis_url=url,
        fleet=fleet_name,
        concurrency=3,
        redelivery_timeout=2.0,
        api_key=sandbox.api_key,
        base_url=sandbox.base_url,
        poll_interval=0.05,
        **options,  # type: ignore[arg-type]
    )
    return asyncio.create_task(run_worker(settings, handle_signals=False))


async def test_every_job_comes_back_once_and_submitting_again_runs_nothing(
    backend_url: str, fleet_name: str, fleet: Fleet, sandbox: Sandbox
) -> None:
    """Twelve jobs with at most four pending: the submitter waits for results, each job
    gets one outcome, and a second submission skips every key."""
    running = worker(backend_url, fleet_name, sandbox)
    try:
        async with asyncio.timeout(30):
            stats = await fleet.submit([job(i) for i in range(12)])
            outcomes = [outcome async for outcome in fleet.outcomes()]
            again = await fleet.submit([job(i) for i in range(12)])
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert (stats.queued, stats.waited > 0) == (12, True)
    assert sorted(outcome.key for outcome in outcomes) == [f"api-{i:03d}" for i in range(12)]
    assert all(outcome.ok and outcome.status == "COMPLETE_OK" for outcome in outcomes)
    assert all(len(outcome.scores or {}) == 11 for outcome in outcomes)
    assert (again.queued, again.skipped) == (0, 12)
    assert sandbox.runs_created() == sandbox.runs_started() == 12
    counts = await fleet.counts()
    assert (counts.submitted, counts.ok, counts.complete) == (12, 12, True)


async def test_a_redelivered_job_waits_on_its_run_or_reports_a_lost_create_as_unknown(
    backend_url: str, fleet_name: str, fleet: Fleet, sandbox: Sandbox
) -> None:
    """Two jobs whose first delivery died: one after its run was created and uploaded
    (the journal says ``uploaded``), one while its create was in flight (``creating``). The
    next delivery waits on the existing run, and reports the other as unknown; neither
    creates a run."""
    async with Engine(backend_url, FleetNames(fleet_name)) as engine:
        # what the dead worker did: created and uploaded api-000, began creating api-001
        async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url) as client:
            created = await client.create_model_run(user=job(0).user, language="en-GB")
            await client.upload_recording(created, sample_recording())
        async with engine.redis() as redis:
            journal = RedisJournal(redis, namespace=f"{fleet_name}:api")
            token, _ = await journal.claim("api-000")
            for entry in (
                JournalEntry(key="api-000", state=JobState.CREATING),
                JournalEntry(
                    key="api-000",
                    state=JobState.CREATED,
                    model_run_id=created.id,
                    upload_url=created.recording_upload_url,
                    url_expires_at=time.time() + 3600,
                ),
                JournalEntry(key="api-000", state=JobState.UPLOADED, model_run_id=created.id),
            ):
                await journal.put(entry, token=token)
            token, _ = await journal.claim("api-001")
            await journal.put(JournalEntry(key="api-001", state=JobState.CREATING), token=token)
    running = worker(backend_url, fleet_name, sandbox)
    try:
        async with asyncio.timeout(30):
            await fleet.submit([job(0), job(1)])
            outcomes = {outcome.key: outcome async for outcome in fleet.outcomes()}
            unknown = await fleet.unknown()
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert outcomes["api-000"].ok and outcomes["api-000"].model_run_id == created.id
    assert outcomes["api-001"].unknown and unknown == ["api-001"]
    assert sandbox.runs_created() == 1  # the one the dead worker made; nothing new


async def test_a_bad_recording_path_on_the_worker_is_that_job_s_failure(
    backend_url: str, fleet_name: str, fleet: Fleet, sandbox: Sandbox
) -> None:
    gone = job(0, "gone")
    gone = WellnessJob(
        recording="/nonexistent/fleet/recording.ogg",
        user=gone.user,
        language="en-GB",
        key=gone.key,
    )
    running = worker(backend_url, fleet_name, sandbox)
    try:
        async with asyncio.timeout(30):
            await fleet.submit([gone, job(1, "gone")])
            outcomes = {outcome.key: outcome async for outcome in fleet.outcomes()}
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert outcomes["gone-000"].error is not None
    assert outcomes["gone-000"].error["type"] in {"RecordingError", "InvalidInputError"}
    assert outcomes["gone-001"].ok
    assert sandbox.runs_created() == 1
    async with Engine(backend_url, FleetNames(fleet_name)) as engine, engine.redis() as redis:
        counts = await BatchState(redis, engine.names.batch("api")).counts()
    assert (counts.ok, counts.failed) == (1, 1)
    json.dumps(outcomes["gone-000"].record)  # a record is plain JSON
