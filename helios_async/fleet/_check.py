"""One fleet job on a worker: the wellness check, its journal, and its one result.

A job delivered again (its first worker died, or its lease lapsed) is not checked again
from scratch: the batch's state says whether its result is already out, and the run
journal says how far its check got (see :func:`run_journaled`). The result record is
appended to the batch's stream at most once per key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from helios_async import (
    DeadlineExceededError,
    HeliosClient,
    HeliosError,
    InvalidInputError,
    ModelRun,
    ModelRunFailedError,
    OutcomeUnknownError,
    RateLimitError,
    RecordingError,
)

from ._cooldown import FleetCooldown
from ._names import FleetNames
from ._payload import FleetJob, decode_job
from ._records import job_record
from ._state import FINAL_STATES, BatchState

__all__ = ["CheckRunner", "final_state"]

logger = logging.getLogger("helios_async.fleet")

RedisFactory = Callable[[], contextlib.AbstractAsyncContextManager[Any]]


def final_state(error: BaseException | None) -> str:
    """The batch state of a job that ended with ``error``: ``ok``, ``unknown`` (a create
    whose outcome is unknown, D13) or ``failed``."""
    if error is None:
        return "ok"
    return "unknown" if isinstance(error, OutcomeUnknownError) else "failed"


class CheckRunner:
    """The handler a worker runs for each payload, with the worker's one client."""

    def __init__(
        self,
        client: HeliosClient,
        redis: RedisFactory,
        names: FleetNames,
        cooldown: FleetCooldown,
    ) -> None:
        self._client = client
        self._redis = redis
        self._names = names
        self._cooldown = cooldown

    async def __call__(self, payload: str) -> None:
        try:
            fleet_job = decode_job(payload)
        except InvalidInputError as exc:
            logger.error("dropped a message that is not a fleet job: %s", exc)  # noqa: TRY400
            return
        names = self._names.batch(fleet_job.batch)
        async with self._redis() as redis:
            if await BatchState(redis, names).state_of(fleet_job.key) in FINAL_STATES:
                return  # delivered again after its result was out
        record, state = await self.check(fleet_job)
        async with self._redis() as redis:
            await BatchState(redis, names).emit(
                fleet_job.key, state, record, job=payload if state == "unknown" else None
            )

    async def check(self, fleet_job: FleetJob) -> tuple[dict[str, Any], str]:
        """Run the job's check to its record and final state."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        run, error, run_id = await self._outcome(fleet_job)
        record = job_record(
            fleet_job.key,
            fleet_job.row,
            run=run,
            error=error,
            model_run_id=run_id,
            seconds=loop.time() - started,
        )
        return record, final_state(error)

    async def _outcome(
        self, fleet_job: FleetJob
    ) -> tuple[ModelRun | None, HeliosError | None, str | None]:
        job = fleet_job.job
        created: list[str] = []
        await self._cooldown.wait()
        try:
            run = await self._client.run_wellness_check(
                job.recording,
                user=job.user,
                language=job.language,
                deadline=job.deadline,
                check_duration=job.check_duration,
                on_created=lambda made: created.append(made.id),
                **job.create_fields(),
            )
        except ModelRunFailedError as exc:
            return exc.run, exc, exc.model_run_id
        except DeadlineExceededError as exc:
            return exc.last_run, exc, exc.model_run_id
        except RateLimitError as exc:
            self._cooldown.note(exc.retry_after or 1.0)
            return None, exc, created[-1] if created else None
        except HeliosError as exc:
            return None, exc, created[-1] if created else None
        except OSError as exc:
            error = RecordingError("recording", f"could not be read: {exc}")
            return None, error, created[-1] if created else None
        return run, None, run.id
