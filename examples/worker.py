"""A long-running asyncio worker: jobs from a queue, a few checks at a time, one client.

What it shows:

* one ``HeliosClient`` shared by every consumer task for the worker's whole life;
* each run's id saved (``on_created``) the moment the run exists, so a worker that crashed
  or was stopped resumes the run with ``wait_for_model_run`` instead of paying for a second;
* every outcome sorted by what it means for the job: scored, failed (the model's verdict),
  rejected (bad input, nothing sent), unknown (a run may exist; never resubmit blindly),
  timed out (resumable later) or gave up (the client already retried);
* a clean stop on SIGINT/SIGTERM: cancelling the worker cancels the checks in flight, and
  the client releases their connections and files.

Run it against the real API (``THYMIA_API_KEY``), or ``--sandbox`` for a local one::

    python examples/worker.py --sandbox
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from helios_async import (
    DeadlineExceededError,
    HeliosClient,
    HeliosError,
    InvalidInputError,
    ModelRun,
    ModelRunFailedError,
    ModelRunStatus,
    OutcomeUnknownError,
    User,
)

logger = logging.getLogger("worker")


@dataclass(frozen=True)
class Job:
    job_id: str
    recording: Path | bytes
    user: User
    language: str = "en-GB"


@dataclass(frozen=True)
class Outcome:
    job_id: str
    state: str  # scored | failed | rejected | unknown | timed_out | gave_up
    run_id: str | None = None
    detail: str = ""
    scores: dict[str, float] | None = None


@dataclass
class Store:
    """Stands in for your database: where a job's run id is saved as soon as it exists."""

    run_ids: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)


class Worker:
    """Consumes jobs with ``concurrency`` tasks; ``deadline`` (seconds) bounds each check."""

    def __init__(
        self, client: HeliosClient, store: Store, *, concurrency: int = 4, deadline: float = 600
    ) -> None:
        self.client = client
        self.store = store
        self.concurrency = concurrency
        self.deadline = deadline

    async def run(self, queue: asyncio.Queue[Job]) -> None:
        """Consume ``queue`` until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            for _ in range(self.concurrency):
                tasks.create_task(self._consume(queue))

    async def _consume(self, queue: asyncio.Queue[Job]) -> None:
        while True:
            job = await queue.get()
            try:
                outcome = await self.process(job)
                self.store.outcomes[job.job_id] = outcome
                logger.info("%s: %s %s", job.job_id, outcome.state, outcome.detail)
            finally:
                queue.task_done()

    async def process(self, job: Job) -> Outcome:
        """One job, resumed from its saved run id where it has one."""
        run_id = self.store.run_ids.get(job.job_id)
        try:
            if run_id is not None:
                run = await self._resume(job, run_id)
                if run is not None:
                    return self._verdict(job, run)
            run = await self.client.run_wellness_check(
                job.recording,
                user=job.user,
                language=job.language,
                deadline=self.deadline,
                on_created=lambda created: self._save(job, created.id),
            )
            return self._verdict(job, run)
        except ModelRunFailedError as exc:  # the model's verdict: a new recording is needed
            return self._verdict(job, exc.run)
        except InvalidInputError as exc:  # RecordingError too: refused locally, nothing sent
            return Outcome(job.job_id, "rejected", detail=str(exc))
        except OutcomeUnknownError as exc:  # a run may exist: flag it rather than resubmit
            return Outcome(job.job_id, "unknown", detail=str(exc))
        except DeadlineExceededError as exc:  # the run id stays saved: resume it later
            return Outcome(job.job_id, "timed_out", exc.model_run_id, f"in the {exc.phase} phase")
        except HeliosError as exc:  # transport, 5xx, auth: the client already retried
            return Outcome(job.job_id, "gave_up", self.store.run_ids.get(job.job_id), str(exc))

    async def _resume(self, job: Job, run_id: str) -> ModelRun | None:
        run = await self.client.get_model_run(run_id)
        if run.status is ModelRunStatus.CREATED:
            # Its upload never completed: the run will never be processed and costs
            # nothing, so forget it and start the check over.
            del self.store.run_ids[job.job_id]
            return None
        return await self.client.wait_for_model_run(run_id, timeout=self.deadline)

    def _save(self, job: Job, run_id: str) -> None:
        self.store.run_ids[job.job_id] = run_id

    @staticmethod
    def _verdict(job: Job, run: ModelRun) -> Outcome:
        section = run.section
        if run.succeeded and section is not None:
            return Outcome(job.job_id, "scored", run.id, scores=section.scores)
        code = run.error_code.value if run.error_code is not None else run.status.value
        return Outcome(job.job_id, "failed", run.id, detail=code)


def demo_jobs() -> list[Job]:
    from helios_async.testing import sample_recording

    def user(n: int) -> User:
        return User(
            user_label=f"worker-{n:04}", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE"
        )

    return [
        Job("job-1", sample_recording(), user(1)),
        Job("job-2", sample_recording(), user(2)),
        Job("job-3", b"this is not audio", user(3)),  # refused locally: rejected
    ]


async def main(base_url: str | None, api_key: str | None) -> dict[str, Outcome]:
    """Run the demo jobs through a worker, stop it once the queue is drained, and return the
    outcomes by job id."""
    store = Store()
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for job in demo_jobs():
        queue.put_nowait(job)
    async with HeliosClient(api_key, base_url=base_url) as client:
        worker = asyncio.create_task(Worker(client, store, concurrency=2).run(queue))
        drained = asyncio.create_task(queue.join())
        try:
            await asyncio.wait({drained, worker}, return_when=asyncio.FIRST_COMPLETED)
            if worker.done():
                worker.result()  # the worker died: raise what killed it, never hang
        finally:
            worker.cancel()
            drained.cancel()
            await asyncio.gather(worker, drained, return_exceptions=True)
    for outcome in store.outcomes.values():
        print(outcome.job_id, outcome.state, outcome.run_id or "", outcome.detail)
    return store.outcomes


async def _serve_forever(base_url: str | None, api_key: str | None) -> None:
    """The production shape: run until SIGINT or SIGTERM, then stop cleanly."""
    queue: asyncio.Queue[Job] = asyncio.Queue()  # feed it from your message broker
    async with HeliosClient(api_key, base_url=base_url) as client:
        worker = asyncio.create_task(Worker(client, Store()).run(queue))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.cancel)
        await asyncio.gather(worker, return_exceptions=True)


async def _cli(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
    if "--sandbox" in argv:
        from helios_async.testing import Sandbox

        async with Sandbox(processing_delay=1.0) as sandbox:
            await main(sandbox.base_url, sandbox.api_key)
    else:
        await _serve_forever(os.environ.get("THYMIA_BASE_URL"), os.environ.get("THYMIA_API_KEY"))


if __name__ == "__main__":
    asyncio.run(_cli(sys.argv[1:]))
