"""Many wellness checks at once: bounded, lazy, yielding each outcome as it finishes.

``HeliosClient.run_wellness_checks`` builds a :class:`WellnessChecks`; this module holds it
and the job and outcome models; ``_runner.run_bounded`` drives the tasks. At most
``concurrency`` checks run at a time; a job is taken from the caller's iterable only when a
slot frees, so memory stays flat however many jobs there are. Each check is the whole flow of
``run_wellness_check`` (docs/helios.md#the-flow); rate limits are shared client-wide through
the connection's cool-down, so one ``Retry-After`` pauses every task. Each job is one
``_workflow`` check on the operations the client hands in; nothing here knows the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any, Self

import attrs

from ._errors import (
    ClientClosedError,
    DeadlineExceededError,
    HeliosError,
    InvalidInputError,
    ModelRunFailedError,
    RecordingError,
)
from ._model_methods import ModelMethods
from ._models import ModelRun, ModelRunCreated, ModelRunRequest, TagsInput, User
from ._recording import RecordingSource
from ._redaction import hidden
from ._runner import run_bounded
from ._validation import check_seconds
from ._workflow import CheckOperations, OnCreated, run_check

__all__ = ["WellnessChecks", "WellnessJob", "WellnessOutcome"]

DEFAULT_CONCURRENCY = 10

OnJobCreated = Callable[["WellnessJob", ModelRunCreated], Awaitable[None] | None]
RunJob = Callable[["WellnessJob", OnCreated], Awaitable[ModelRun]]
"""Runs one job's whole check, calling back with each run it creates (see job_runner)."""


def _check_deadline(value: float | None) -> float | None:
    return check_seconds("deadline", value)


@attrs.frozen(kw_only=True, eq=False, repr=False)
class WellnessJob(ModelMethods):
    """One wellness check to run among many (the arguments of ``run_wellness_check``).

    Nothing is validated here: a job whose fields break a rule ends as an outcome carrying
    an :class:`~helios_async.InvalidInputError`, without stopping the other jobs. The create
    fields follow the rules of :class:`~helios_async.ModelRunRequest`. The repr hides the
    user's label and date of birth and the tags (``tags=<redacted>``), as ``User`` does.

    See https://helios-async.readthedocs.io/helios/#request-fields
    """

    recording: RecordingSource = attrs.field(repr=False)
    """A path, bytes or a seekable binary file."""
    user: User
    """The person the run is for."""
    language: str
    """The language and dialect spoken, such as ``en-GB``."""
    key: Any = None
    """Yours and opaque (a row number, a database id, any object): it comes back on the
    outcome, to match it to its input."""
    accent: str | None = None
    """The speaker's accent, besides the language."""
    sleep_time: dt.datetime | None = None
    """When the person fell asleep for their last main sleep: a naive local ``datetime``."""
    wake_time: dt.datetime | None = None
    """When they woke from it: a naive local ``datetime``."""
    recording_time: dt.datetime | None = None
    """When the recording was made: a naive local ``datetime``."""
    tags: TagsInput = attrs.field(default=None, repr=hidden)
    """At most 20 tags with unique names: a mapping, or a sequence of Tag or pairs;
    ``<redacted>`` in the repr."""
    delete_data: bool = False
    """Delete the run's data 12 hours after it finishes."""
    data_to_delete: Iterable[str] | None = None
    """With ``delete_data``, the kinds of data to delete; None for everything."""
    deadline: float | None = attrs.field(default=None, converter=_check_deadline)
    """Seconds for this one whole check; None for no deadline beyond the policies'."""
    check_duration: bool = True
    """False skips the local length check of the recording (the API still judges it)."""

    def create_fields(self) -> dict[str, Any]:
        """The optional create fields, as keyword arguments of ``create_model_run``."""
        return {
            "accent": self.accent,
            "sleep_time": self.sleep_time,
            "wake_time": self.wake_time,
            "recording_time": self.recording_time,
            "tags": self.tags,
            "delete_data": self.delete_data,
            "data_to_delete": self.data_to_delete,
        }


def job_runner(operations: CheckOperations, *, poll_timeout: float) -> RunJob:
    """What the fan-out runs per job: that job's whole check on ``operations``.

    A job's fields are checked here, when the fan-out's task for it calls this, so a bad one
    ends as that job's outcome; its ``deadline`` was checked when the job was made. Returns
    the check's own coroutine, with no wrapper of its own around it.
    """

    def run_job(job: WellnessJob, on_created: OnCreated) -> Awaitable[ModelRun]:
        body = ModelRunRequest(user=job.user, language=job.language, **job.create_fields())
        return run_check(
            operations,
            job.recording,
            body,
            deadline=job.deadline,
            poll_timeout=poll_timeout,
            on_created=on_created,
            check_duration=job.check_duration,
        )

    return run_job


@attrs.frozen(kw_only=True, eq=False, repr=False)
class WellnessOutcome(ModelMethods):
    """How one job of ``run_wellness_checks`` ended: a run, or the typed error that ended it.

    ``ok`` says whether it ended ``COMPLETE_OK``, but as a property it cannot narrow ``run``
    for a type checker: test ``outcome.run is not None`` too, or call ``result()``.
    """

    job: WellnessJob
    """The job this outcome is for."""
    run: ModelRun | None
    """The last state of the run seen: the ``COMPLETE_OK`` run, the ``COMPLETE_ERROR`` run of a
    :class:`~helios_async.ModelRunFailedError`, the last run polled before a
    :class:`~helios_async.DeadlineExceededError`, else None."""
    error: HeliosError | None
    """None exactly when the run ended ``COMPLETE_OK``; else the typed error that ended it."""
    model_run_id: str | None
    """The run created for the job (the last one, if an expired upload URL made the check
    start over), or None if none was created."""
    elapsed: float
    """Seconds the check took."""

    @property
    def key(self) -> Any:
        """The job's ``key``, for matching outcomes to inputs."""
        return self.job.key

    @property
    def ok(self) -> bool:
        """Whether the check ended ``COMPLETE_OK``."""
        return self.error is None

    def result(self) -> ModelRun:
        """The ``COMPLETE_OK`` run.

        Raises:
            HeliosError: the error that ended this job, as ``run_wellness_check`` raises it.
        """
        if self.error is not None:
            raise self.error
        assert self.run is not None
        return self.run


@attrs.define(kw_only=True, eq=False, repr=False)  # never compared nor shown
class _Counters:
    """Shared by a :class:`WellnessChecks` and its generator (never the generator itself,
    so dropping the iterator frees the generator at once and asyncio closes it)."""

    started: int = 0
    in_flight: int = 0
    finished: int = 0
    failed: int = 0


class WellnessChecks:
    """The async iterator ``HeliosClient.run_wellness_checks`` returns.

    Iterate it for one :class:`WellnessOutcome` per job, in the order the checks finish::

        async with client.run_wellness_checks(jobs, concurrency=20) as outcomes:
            async for outcome in outcomes:
                if outcome.run is not None and outcome.ok:  # ``ok`` does not narrow ``run``
                    print(outcome.key, outcome.run.status)
                else:
                    print(outcome.key, outcome.error)

    Closing it (``aclose()``, leaving ``async with``, or cancelling the task iterating it)
    cancels the checks in flight and waits until each has stopped; runs they created stay
    on the server. Breaking out of a bare ``async for`` does the same once the iterator is
    no longer referenced (asyncio finalises it on the next loop iteration); ``async with``
    makes it immediate. Close it from the task iterating it (or cancel that task): like any
    async generator, it cannot be closed while another task waits in ``__anext__``.
    ``started``, ``in_flight``, ``finished`` and ``failed`` count jobs.

    Raises (while iterating):
        ClientClosedError: the client was closed; raised once, the checks in flight are
            cancelled first.
        TypeError: the job source gave something that is not a :class:`WellnessJob`.
        Exception: whatever the job source or an ``on_created`` callback raised; the checks
            in flight are cancelled first.
    """

    def __init__(
        self,
        run_job: RunJob,
        jobs: Iterable[WellnessJob] | AsyncIterable[WellnessJob],
        *,
        concurrency: int,
        on_created: OnJobCreated | None = None,
    ) -> None:
        self.concurrency = concurrency
        self._counters = _Counters()
        self._generator = _outcomes(run_job, jobs, concurrency, on_created, self._counters)

    @property
    def started(self) -> int:
        """Jobs taken from the source and started so far."""
        return self._counters.started

    @property
    def in_flight(self) -> int:
        """Checks running now (never more than ``concurrency``)."""
        return self._counters.in_flight

    @property
    def finished(self) -> int:
        """Outcomes yielded so far."""
        return self._counters.finished

    @property
    def failed(self) -> int:
        """Outcomes yielded so far that carry an error."""
        return self._counters.failed

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> WellnessOutcome:
        return await self._generator.__anext__()

    async def aclose(self) -> None:
        """Cancel the checks in flight and wait for them to stop; idempotent."""
        await self._generator.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        c = self._counters
        return (
            f"<WellnessChecks concurrency={self.concurrency} started={c.started} "
            f"in_flight={c.in_flight} finished={c.finished} failed={c.failed}>"
        )


def check_concurrency(concurrency: object, pool_limit: int) -> int:
    """``concurrency`` if it is a positive int within the connection pool's limit (0: none).

    Raises:
        InvalidInputError: not a positive int, or more checks than the pool has connections,
            which would leave checks queueing for a connection instead of running.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidInputError("concurrency", f"must be a positive int; got {concurrency!r}")
    if pool_limit and concurrency > pool_limit:
        raise InvalidInputError(
            "concurrency",
            f"{concurrency} checks need as many connections, but the connection pool is "
            f"limited to {pool_limit}: raise HeliosClient(connection_limit=...) or the "
            "borrowed session's connector limit",
        )
    return concurrency


async def _outcomes(
    run_job: RunJob,
    jobs: Iterable[WellnessJob] | AsyncIterable[WellnessJob],
    concurrency: int,
    on_created: OnJobCreated | None,
    counters: _Counters,
) -> AsyncGenerator[WellnessOutcome, None]:
    """Each job's outcome as its check ends, at most ``concurrency`` checks at a time."""

    def start(job: object) -> Coroutine[Any, Any, WellnessOutcome]:
        if not isinstance(job, WellnessJob):
            raise TypeError(f"jobs must be WellnessJob instances, not {type(job).__name__}")
        counters.started += 1
        return _check(run_job, job, on_created, counters)

    running = run_bounded(jobs, start, concurrency=concurrency, name="helios-check")
    async with contextlib.aclosing(running):
        async for outcome in running:
            counters.finished += 1
            counters.failed += not outcome.ok
            yield outcome


class _Job:
    """One job in flight: what its outcome needs besides the check's result. The check's
    ``on_created`` is the instance itself, so a job keeps one small object alive, not a
    closure and its cells."""

    __slots__ = ("created_id", "job", "loop", "on_created", "started")

    def __init__(
        self, job: WellnessJob, on_created: OnJobCreated | None, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.job = job
        self.on_created = on_created
        self.loop = loop
        self.started = loop.time()
        self.created_id: str | None = None  # the last run created for the job

    def __call__(self, run: ModelRunCreated) -> Awaitable[None] | None:
        self.created_id = run.id
        return None if self.on_created is None else self.on_created(self.job, run)

    def outcome(
        self, run: ModelRun | None, error: HeliosError | None, run_id: str | None
    ) -> WellnessOutcome:
        return WellnessOutcome(
            job=self.job,
            run=run,
            error=error,
            model_run_id=run_id or self.created_id,
            elapsed=self.loop.time() - self.started,
        )


async def _check(
    run_job: RunJob,
    job: WellnessJob,
    on_created: OnJobCreated | None,
    counters: _Counters,
) -> WellnessOutcome:
    """Run one job to its outcome; a :class:`HeliosError` becomes the outcome's ``error``.

    Each outcome is made inside its ``except`` clause, so this frame (which the error's
    traceback holds) keeps no reference to the error: no cycle for the collector to find.
    """
    state = _Job(job, on_created, asyncio.get_running_loop())
    counters.in_flight += 1
    try:
        run = await run_job(job, state)
    except ModelRunFailedError as exc:
        return state.outcome(exc.run, exc, exc.model_run_id)
    except DeadlineExceededError as exc:
        return state.outcome(exc.last_run, exc, exc.model_run_id)
    except ClientClosedError:
        raise  # the client is gone: the fan-out stops once, not job after job
    except HeliosError as exc:
        return state.outcome(None, exc, None)
    except OSError as exc:  # the recording vanished or became unreadable after its checks
        return state.outcome(None, _unreadable(exc), None)
    finally:
        counters.in_flight -= 1
    return state.outcome(run, None, run.id)


def _unreadable(exc: OSError) -> RecordingError:
    error = RecordingError("recording", f"could not be read while uploading: {exc}")
    error.__cause__ = exc
    return error
