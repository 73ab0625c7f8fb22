"""One wellness check, end to end: create, upload, poll, under one deadline.

See docs/helios.md#the-flow.

The check receives the :class:`~._operations.Operations` it needs and never the client. Its
deadline is one clock: the event loop's time when it ends, set once from the seconds the user
gave (already checked), bounding every phase.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from ._errors import (
    CreateDeadlineExceededError,
    DeadlineExceededError,
    DecodeError,
    HookError,
    ModelRunFailedError,
    UploadURLExpiredError,
)
from ._models import ModelRun, ModelRunCreated, ModelRunRequest, ModelRunStatus
from ._recording import PreparedRecording, RecordingSource, prepare_recording_async
from ._telemetry import NULL_CHECK, CheckScope, Runtime

logger = logging.getLogger("helios_async")

OnCreated = Callable[[ModelRunCreated], Awaitable[None] | None]


class CheckOperations(Protocol):
    """The calls a check makes (``_operations.Operations`` has them)."""

    async def create(
        self, body: ModelRunRequest, *, on_sent: Callable[[], None] | None = None
    ) -> ModelRunCreated: ...

    async def upload(
        self, upload_url: str, recording: PreparedRecording, *, model_run_id: str | None = None
    ) -> None: ...

    async def get_model_run(self, model_run_id: str) -> ModelRun: ...

    def wait(
        self,
        model_run_id: str,
        *,
        deadline: float,
        timeout: float,
        seen: Callable[[ModelRun], None] | None = None,
    ) -> Coroutine[Any, Any, ModelRun]: ...  # a coroutine function, or one returning its own

    @property
    def telemetry(self) -> Runtime: ...


def run_check(
    operations: CheckOperations,
    recording: RecordingSource,
    body: ModelRunRequest,
    *,
    deadline: float | None,
    poll_timeout: float,
    on_created: OnCreated | None = None,
    check_duration: bool = True,
    expired_url_restarts: int = 1,
) -> Coroutine[Any, Any, ModelRun]:
    """Check the recording locally, then run the whole check (see ``run_wellness_check``).

    ``deadline`` is seconds, already checked by the caller; ``poll_timeout`` bounds the
    poll phase when there is no deadline. Returns the coroutine of :meth:`WellnessCheck.run`
    (one coroutine per check, not a wrapper around it: with thousands of checks in flight,
    every object each one keeps alive is one more for the garbage collector to walk).
    """
    check = WellnessCheck(
        operations,
        body,
        recording,
        deadline=deadline,
        poll_timeout=poll_timeout,
        on_created=on_created,
        check_duration=check_duration,
    )
    return check.run(expired_url_restarts=expired_url_restarts)


class WellnessCheck:
    """The state of one check: its phases, their timings and the run it created.

    Phases are ``"create"``, ``"upload"`` and ``"poll"``; ``phase_seconds`` holds the
    seconds each took so far, so a deadline error can say where the time went. Slotted, and
    its callbacks are its own methods, so a check in flight keeps few objects alive.
    """

    __slots__ = (
        "_body",
        "_check_duration",
        "_create_sent",
        "_deadline",
        "_ends_at",
        "_loop",
        "_mark",
        "_on_created",
        "_operations",
        "_poll_timeout",
        "_prepared",
        "_recording",
        "_run_id",
        "_started",
        "_traced",
        "last_run",
        "phase",
        "phase_seconds",
    )

    def __init__(
        self,
        operations: CheckOperations,
        body: ModelRunRequest,
        recording: RecordingSource,
        *,
        deadline: float | None,
        poll_timeout: float,
        on_created: OnCreated | None,
        check_duration: bool = True,
    ) -> None:
        self._operations = operations
        self._traced: CheckScope = NULL_CHECK
        self._body = body
        self._recording: RecordingSource | None = recording  # until its local checks pass
        self._prepared: PreparedRecording | None = None  # from the local checks to the upload
        self._check_duration = check_duration
        self._deadline = deadline
        self._poll_timeout = poll_timeout
        self._on_created = on_created
        self._loop = asyncio.get_running_loop()
        self._started = self._mark = 0.0
        # The one clock: loop time when the check must end (None: only the poll is bounded).
        self._ends_at: float | None = None
        self.phase = "create"
        self.phase_seconds: dict[str, float] = {}
        self._run_id: str | None = None  # the run created last
        self.last_run: ModelRun | None = None
        self._create_sent = False  # a create POST went out and has not been answered

    def _enter(self, phase: str) -> None:
        now = self._loop.time()
        self.phase_seconds[self.phase] = self.phase_seconds.get(self.phase, 0.0) + now - self._mark
        self._mark = now
        self.phase = phase

    async def run(self, *, expired_url_restarts: int) -> ModelRun:
        """Run the check; see ``HeliosClient.run_wellness_check`` for what it raises.

        The deadline's clock starts once the recording has passed its local checks."""
        with self._operations.telemetry.check() as traced:  # the check's span, its metrics
            self._traced = traced
            traced.user(self._body.user.user_label)
            source, self._recording = self._recording, None  # the prepared one holds it now
            assert source is not None, "a check runs once"
            self._prepared = await prepare_recording_async(
                source, check_duration=self._check_duration
            )
            del source
            traced.recording(self._prepared)
            self._started = self._mark = self._loop.time()
            if self._deadline is not None:
                self._ends_at = self._started + self._deadline
            scope: asyncio.Timeout | None = None
            try:
                if self._ends_at is None:  # no clock of its own: no timer, no scope
                    run = await self._steps(expired_url_restarts)
                else:
                    async with asyncio.timeout_at(self._ends_at) as scope:
                        run = await self._steps(expired_url_restarts)
            except DeadlineExceededError as exc:  # the poll ran out of the time it was given
                raise self._deadline_error(exc.timeout, exc.last_run) from None
            except TimeoutError:
                if scope is None or not scope.expired() or self._deadline is None:
                    raise
                raise self._deadline_error(self._deadline, None) from None
            if run.status == ModelRunStatus.COMPLETE_OK and run.section is None:
                raise DecodeError(
                    f"model run {run.id} is COMPLETE_OK but carries no results",
                    body=json.dumps(dict(run.raw)).encode(),
                )
            if not run.succeeded:
                raise ModelRunFailedError(run)
            traced.finished(run)
            return run

    async def _steps(self, expired_url_restarts: int) -> ModelRun:
        """Create and upload (starting over on an expired URL), then poll. While polling, the
        check keeps neither the recording nor the created run (only its id): thousands of
        checks in flight spend most of their time polling."""
        operations = self._operations
        recording = self._prepared
        assert recording is not None
        restarts_left = expired_url_restarts
        while True:
            self._enter("create")
            hook_failure: HookError | None = None
            with self._traced.phase("create"):
                try:
                    created = await operations.create(self._body, on_sent=self._sent)
                except HookError as exc:  # the run exists: announce it, then report the hook
                    if not isinstance(exc.result, ModelRunCreated):
                        raise
                    created, hook_failure = exc.result, exc
            self._run_id = created.id
            self._create_sent = False
            self._traced.created(created)
            await self._announce(created)
            if hook_failure is not None:
                raise hook_failure
            self._enter("upload")
            with self._traced.phase("upload"):
                try:
                    await operations.upload(
                        created.recording_upload_url, recording, model_run_id=created.id
                    )
                except UploadURLExpiredError:
                    if await self._recording_arrived(created):
                        break  # an earlier attempt was stored; its answer was lost
                    if restarts_left <= 0:
                        raise
                    restarts_left -= 1
                    logger.info(
                        "upload URL of model run %s expired; starting over with a new run",
                        created.id,
                    )
                else:
                    break
        run_id = created.id
        del created, recording
        self._prepared = None
        self._enter("poll")
        if self._ends_at is None:
            ends_at, timeout = self._loop.time() + self._poll_timeout, self._poll_timeout
        else:
            ends_at, timeout = self._ends_at, self._deadline or 0.0
        with self._traced.phase("wait"):
            return await operations.wait(run_id, deadline=ends_at, timeout=timeout, seen=self._seen)

    async def _announce(self, created: ModelRunCreated) -> None:
        if self._on_created is not None:
            outcome = self._on_created(created)
            if inspect.isawaitable(outcome):
                await outcome

    async def _recording_arrived(self, created: ModelRunCreated) -> bool:
        """Whether the run has its recording after all: a retried PUT can meet an expired URL
        after an earlier attempt was stored but its answer lost. Restarting then would bill
        the check twice, so ask the run."""
        run = await self._operations.get_model_run(created.id)
        self._seen(run)
        return run.status != ModelRunStatus.CREATED or run.run_at is not None

    def _sent(self) -> None:
        self._create_sent = True

    def _seen(self, run: ModelRun) -> None:
        self.last_run = run
        if self.phase == "poll":
            self._traced.polled(run)

    def _deadline_error(
        self, poll_timeout: float, last_run: ModelRun | None
    ) -> DeadlineExceededError:
        phase = self.phase
        self._enter(phase)
        timeout = self._deadline if self._deadline is not None else poll_timeout
        if phase == "create" and self._create_sent:
            return CreateDeadlineExceededError(
                timeout=timeout,
                phase_seconds=self.phase_seconds,
                user_label=self._body.user.user_label,
            )
        return DeadlineExceededError(
            phase,
            timeout=timeout,
            phase_seconds=self.phase_seconds,
            model_run_id=self._run_id,
            last_run=last_run or self.last_run,
        )
