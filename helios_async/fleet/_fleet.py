"""``Fleet``: submit wellness checks to a fleet of workers and read their outcomes, from
Python, the way ``HeliosClient.run_wellness_checks`` runs them in one process."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

import attrs

from helios_async import WellnessJob

from ._docket import Engine
from ._names import FleetNames
from ._payload import encode_job
from ._results import ResultReader
from ._state import BatchCounts, BatchState
from ._submit import DEFAULT_MAX_PENDING, Submission, SubmitStats, submit

__all__ = ["Fleet", "FleetOutcome"]


@attrs.frozen(kw_only=True)
class FleetOutcome:
    """How one fleet job ended, as its worker recorded it.

    The properties read ``record``: ``key`` (the job's; for a manifest row without a ``key``
    cell, ``LINE-ROWHASH``), ``ok`` (ended ``COMPLETE_OK``), ``model_run_id``, ``status``
    (the run's last status seen, or None), ``scores`` (name -> value, on success) and
    ``error`` (``{"type", "message", "code", "http_status", "field"}`` or None). ``unknown``
    is True when a create's outcome is unknown (docs/helios.md#retries-and-idempotency): see
    ``Fleet.unknown()``.
    """

    record: Mapping[str, Any] = attrs.field(repr=False)
    """The job's JSON record: the line ``fleet collect`` writes (``batch``'s line)."""

    @property
    def key(self) -> str:
        key = self.record.get("key")
        if key is None:  # a manifest row without a key column: known by line and hash
            return f"{self.record.get('line')}-{self.record.get('row_hash')}"
        return str(key)

    @property
    def ok(self) -> bool:
        return self.record.get("error") is None

    @property
    def model_run_id(self) -> str | None:
        return self.record.get("model_run_id")

    @property
    def status(self) -> str | None:
        return self.record.get("status")

    @property
    def scores(self) -> Mapping[str, float] | None:
        return self.record.get("scores")

    @property
    def error(self) -> Mapping[str, Any] | None:
        return self.record.get("error")

    @property
    def unknown(self) -> bool:
        error = self.error
        return error is not None and error.get("type") == "OutcomeUnknownError"

    def __repr__(self) -> str:  # the record holds labels: show only what is not personal
        return (
            f"FleetOutcome(status={self.status!r}, model_run_id={self.model_run_id!r}, "
            f"error={(self.error or {}).get('type')!r})"
        )


class Fleet:
    """A batch of wellness checks run by the fleet's workers (``helios-async fleet worker``)::

        async with Fleet("redis://127.0.0.1:6379/0", batch="nightly") as fleet:
            await fleet.submit(jobs)
            async for outcome in fleet.outcomes():
                print(outcome.key, outcome.status if outcome.ok else outcome.error)

    ``jobs`` are :class:`~helios_async.WellnessJob` whose ``key`` is a unique ``str`` (1 to
    200 characters) and whose ``recording`` is a path every worker can open. ``fleet`` names
    the set of workers (their ``--fleet``); ``max_pending`` bounds the jobs queued or
    running at once (``submit`` waits for results beyond it).

    Raises:
        InvalidInputError: a bad fleet or batch name.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        batch: str,
        fleet: str = "default",
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self._names = FleetNames(fleet).batch(batch)
        self._engine = Engine(redis_url, self._names.fleet)
        self.max_pending = max_pending

    @property
    def batch(self) -> str:
        return self._names.batch

    async def __aenter__(self) -> Self:
        await self._engine.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._engine.__aexit__(exc_type, exc, tb)

    async def submit(
        self, jobs: Iterable[WellnessJob] | AsyncIterable[WellnessJob], *, done: bool = True
    ) -> SubmitStats:
        """Queue every job whose key has no result yet (safe to call again after a crash).

        With ``done`` (the default) the batch's submission is complete afterwards, so
        :meth:`outcomes` ends once every job has its outcome; pass ``done=False`` to submit
        more later.

        Raises:
            InvalidInputError: a job's key is not a str, its recording is not a path, or a
                field breaks its rule; nothing of that job was sent.
        """

        async def submissions() -> AsyncIterator[Submission]:
            if isinstance(jobs, AsyncIterable):
                async for job in jobs:
                    yield self._submission(job)
            else:
                for job in jobs:
                    yield self._submission(job)

        return await submit(
            self._engine,
            self._names,
            submissions(),
            max_pending=self.max_pending,
            done=done,
        )

    def _submission(self, job: object) -> Submission:
        if not isinstance(job, WellnessJob):
            raise TypeError(f"jobs must be WellnessJob instances, not {type(job).__name__}")
        return Submission(key=job.key, payload=encode_job(self._names.batch, job))

    async def outcomes(self, *, follow: bool = True) -> AsyncIterator[FleetOutcome]:
        """Each job's outcome once, in the order they finished; with ``follow``, until the
        batch is complete, else until none is waiting.

        An outcome is acknowledged (and deleted from Redis) when the next one is asked for,
        so after a crash, or leaving the loop early, the last one comes again next time.
        Read a batch either here or with ``fleet collect``, not both.
        """
        async with self._engine.redis() as redis:
            reader = ResultReader(redis, self._names)
            state = BatchState(redis, self._names)
            for entry in await reader.unacknowledged():
                yield FleetOutcome(record=entry.record)
                await reader.acknowledge([entry])
            while True:
                # complete before the read, and the read empty: every result was taken
                complete = follow and (await state.counts()).complete
                entries = await reader.next(100, block=0.5)
                for entry in entries:
                    yield FleetOutcome(record=entry.record)
                    await reader.acknowledge([entry])
                if not entries and (complete or not follow):
                    return

    async def counts(self) -> BatchCounts:
        """The batch's counters now."""
        async with self._engine.redis() as redis:
            return await BatchState(redis, self._names).counts()

    async def unknown(self) -> list[str]:
        """The keys of jobs whose create's outcome is unknown: a create was in flight
        when its worker died, or its answer was lost. Nothing retries them; look for the run
        (``user_label``, time) before submitting them again under a new key."""
        async with self._engine.redis() as redis:
            return sorted(await BatchState(redis, self._names).unknown())
