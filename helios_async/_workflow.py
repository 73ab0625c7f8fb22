"""One wellness check, end to end: create, upload, poll, under one deadline (§2.3 to §5)."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ._errors import (
    CreateDeadlineExceededError,
    DeadlineExceededError,
    DecodeError,
    ModelRunFailedError,
    UploadURLExpiredError,
)
from ._models import ModelRun, ModelRunCreated, ModelRunRequest, ModelRunStatus
from ._recording import PreparedRecording

if TYPE_CHECKING:
    from ._client import HeliosClient

logger = logging.getLogger("helios_async")

OnCreated = Callable[[ModelRunCreated], Awaitable[None] | None]


class WellnessCheck:
    """The state of one check: its phases, their timings and the run it created.

    Phases are ``"create"``, ``"upload"`` and ``"poll"``; ``phase_seconds`` holds the
    seconds each took so far, so a deadline error can say where the time went.
    """

    def __init__(
        self,
        client: HeliosClient,
        body: ModelRunRequest,
        recording: PreparedRecording,
        *,
        deadline: float | None,
        on_created: OnCreated | None,
    ) -> None:
        self._client = client
        self._body = body
        self._recording = recording
        self._deadline = deadline
        self._on_created = on_created
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._mark = self._started
        self.phase = "create"
        self.phase_seconds: dict[str, float] = {}
        self.created: ModelRunCreated | None = None
        self.last_run: ModelRun | None = None
        self._create_sent = False  # a create POST went out and has not been answered

    def _enter(self, phase: str) -> None:
        now = self._loop.time()
        self.phase_seconds[self.phase] = self.phase_seconds.get(self.phase, 0.0) + now - self._mark
        self._mark = now
        self.phase = phase

    def _remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(self._deadline - (self._loop.time() - self._started), 0.0)

    async def run(self, *, expired_url_restarts: int) -> ModelRun:
        """Run the check; see ``HeliosClient.run_wellness_check`` for what it raises."""
        when = None if self._deadline is None else self._started + self._deadline
        scope = asyncio.timeout_at(when)
        try:
            async with scope:
                run = await self._steps(expired_url_restarts)
        except DeadlineExceededError as exc:  # the poll ran out of the time it was given
            raise self._deadline_error(exc.timeout, exc.last_run) from None
        except TimeoutError:
            if not scope.expired() or self._deadline is None:
                raise
            raise self._deadline_error(self._deadline, None) from None
        if run.status == ModelRunStatus.COMPLETE_OK and run.section is None:
            raise DecodeError(
                f"model run {run.id} is COMPLETE_OK but carries no results (§3.3)",
                body=json.dumps(dict(run.raw)).encode(),
            )
        if not run.succeeded:
            raise ModelRunFailedError(run)
        return run

    async def _steps(self, expired_url_restarts: int) -> ModelRun:
        client = self._client
        restarts_left = expired_url_restarts
        while True:
            self._enter("create")
            created = self.created = await client._create(self._body, on_sent=self._sent)
            self._create_sent = False
            if self._on_created is not None:
                outcome = self._on_created(created)
                if inspect.isawaitable(outcome):
                    await outcome
            self._enter("upload")
            try:
                await client._sender.upload(created, self._recording)
            except UploadURLExpiredError:
                if await self._recording_arrived(created):
                    break  # an earlier attempt was stored; its answer was lost
                if restarts_left <= 0:
                    raise
                restarts_left -= 1
                logger.info(
                    "upload URL of model run %s expired; starting over with a new run", created.id
                )
            else:
                break
        self._enter("poll")
        return await client._wait(created.id, timeout=self._remaining(), seen=self._seen)

    async def _recording_arrived(self, created: ModelRunCreated) -> bool:
        """Whether the run has its recording after all: a retried PUT can meet an expired URL
        after an earlier attempt was stored but its answer lost. Restarting then would bill
        the check twice (D13), so ask the run."""
        run = await self._client.get_model_run(created.id)
        self._seen(run)
        return run.status != ModelRunStatus.CREATED or run.run_at is not None

    def _sent(self) -> None:
        self._create_sent = True

    def _seen(self, run: ModelRun) -> None:
        self.last_run = run

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
            model_run_id=self.created.id if self.created else None,
            last_run=last_run or self.last_run,
        )
