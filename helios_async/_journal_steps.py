"""The steps of a journaled check: create, upload, wait, each journaled as it goes.

:func:`~helios_async.run_journaled_check` (``_journal_check``) claims the key and hands the
entry it found to :class:`JournaledCheck`, which carries the job on from that state (the
state machine is drawn in ``_journal``): it creates a run and journals it before uploading,
uploads again or replaces a run whose URL expired unused, and waits for the run to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

from ._errors import (
    BadRequestError,
    CreateDeadlineExceededError,
    DeadlineExceededError,
    HeliosError,
    JournalConflictError,
    ModelRunFailedError,
    NotFoundError,
    OutcomeUnknownError,
    RecordingError,
    UploadError,
    UploadURLExpiredError,
)
from ._fanout import WellnessJob
from ._journal import JobState, Journal, JournalEntry, error_json, write_through
from ._models import ModelRun, ModelRunCreated, ModelRunRequest, ModelRunStatus
from ._recording import check_recording

if TYPE_CHECKING:
    from ._client import HeliosClient

__all__ = ["CANCEL_GRACE", "LOST_CREATE", "JournaledCheck", "OnEntry"]

logger = logging.getLogger("helios_async")

OnEntry = Callable[[JournalEntry], Awaitable[None] | None]
LOST_CREATE = "a create request was in flight when the process handling this job stopped"
CANCEL_GRACE = 10.0
"""Seconds a cancelled check still waits for the answer of a create it sent, to journal it."""


@attrs.define
class JournaledCheck:
    """One delivery of a journaled check, holding the claim's ``token``: each step writes its
    entry (through ``on_entry``) before the next begins. ``when`` is the deadline in loop
    time; ``phase`` the step under way, for a ``DeadlineExceededError``."""

    client: HeliosClient
    journal: Journal
    token: str
    job: WellnessJob
    url_ttl: float
    restarts: int
    on_entry: OnEntry | None
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[object]]
    when: float | None = None  # the deadline, in loop time
    phase: str = "create"

    async def run(self, key: str, entry: JournalEntry | None) -> JournalEntry:
        if entry is not None and entry.is_final:
            return entry
        if entry is not None and entry.state == JobState.CREATING:
            lost = {"type": "OutcomeUnknownError", "message": LOST_CREATE, "code": None}
            return await self._write(entry, JobState.UNKNOWN, error={**lost, "http_status": None})
        if entry is None:  # a created run needs only its upload, which checks the recording
            await self._check_inputs()
        deadline = self.job.deadline
        if deadline is not None:
            self.when = asyncio.get_running_loop().time() + deadline
        if entry is None:
            entry = await self._create(key, creates=1)
            if entry.state != JobState.CREATED:
                return entry
            return await self._upload_and_wait(entry, created_here=True)
        if entry.state == JobState.CREATED:
            return await self._upload_and_wait(entry, created_here=False)
        return await self._wait(entry)

    async def _check_inputs(self) -> None:
        ModelRunRequest(user=self.job.user, language=self.job.language, **self._fields())
        await check_recording(self.job.recording, check_duration=self.job.check_duration)

    def _fields(self) -> dict[str, Any]:
        return self.job.create_fields()

    # -- the steps ------------------------------------------------------------------------

    async def _create(
        self, key: str, *, creates: int, old: JournalEntry | None = None
    ) -> JournalEntry:
        """Journal ``creating``, create the run, journal its outcome.

        Cancelled meanwhile, it still lets a create request that was sent be answered (for
        up to :data:`CANCEL_GRACE` seconds) and journals the answer before re-raising the
        cancellation, so cancelling a check does not make its create's outcome unknown; a
        deadline does.
        """
        self.phase = "create"
        reset = {"model_run_id": None, "upload_url": None, "url_expires_at": None}
        try:
            creating = await self._write(
                old, JobState.CREATING, key=key, creates=creates, **(reset if old else {})
            )
        except asyncio.CancelledError:  # cancelled before the request was sent: no run
            with contextlib.suppress(JournalConflictError, ValueError):
                await write_through(self.journal.release(key, token=self.token))
            raise
        sending = asyncio.ensure_future(
            self.client.create_model_run(
                user=self.job.user, language=self.job.language, **self._fields()
            )
        )
        cancelled: asyncio.CancelledError | None = None
        scope = self._deadline()
        try:
            try:
                async with scope:
                    created = await asyncio.shield(sending)
            except asyncio.CancelledError as exc:  # from outside: let the create answer
                cancelled = exc
                created = await _answer(sending, exc)
        except OutcomeUnknownError as exc:
            entry = await self._write(creating, JobState.UNKNOWN, error=error_json(exc))
        except BadRequestError as exc:
            entry = await self._write(creating, JobState.DONE, error=error_json(exc))
        except HeliosError:
            await write_through(self.journal.release(key, token=self.token))  # no run: free again
            if cancelled is not None:
                raise cancelled from None
            raise
        except TimeoutError:
            if not scope.expired():
                raise
            sending.cancel()
            await asyncio.wait([sending])
            error = CreateDeadlineExceededError(
                timeout=self._budget(), phase_seconds={}, user_label=self.job.user.user_label
            )
            entry = await self._write(creating, JobState.UNKNOWN, error=error_json(error))
        else:
            entry = await self._write(
                creating,
                JobState.CREATED,
                model_run_id=created.id,
                upload_url=created.recording_upload_url,
                url_expires_at=self.clock() + self.url_ttl,
            )
        if cancelled is not None:
            raise cancelled
        return entry

    async def _upload_and_wait(self, entry: JournalEntry, *, created_here: bool) -> JournalEntry:
        while True:
            if not created_here:
                run = await self._look(entry)
                if isinstance(run, JournalEntry):
                    return run
                if _arrived(run):
                    return await self._wait(
                        await self._write(entry, JobState.UPLOADED, upload_url=None)
                    )
            outcome = await self._upload(entry, created_here=created_here)
            if outcome.state != JobState.CREATING:
                return outcome if outcome.state == JobState.DONE else await self._wait(outcome)
            # the old run can never be processed: start over with a new one
            entry = await self._create(outcome.key, creates=entry.creates + 1, old=entry)
            if entry.state != JobState.CREATED:
                return entry
            created_here = True

    async def _upload(self, entry: JournalEntry, *, created_here: bool) -> JournalEntry:
        """Upload; returns the ``uploaded`` or ``done`` entry, or ``entry`` with state
        ``creating`` (not written) to say: replace the run."""
        self.phase = "upload"
        expired: UploadURLExpiredError | None = None
        url = entry.upload_url
        if url is not None and not self._past(entry.url_expires_at):
            scope = self._deadline()
            try:
                async with scope:
                    await self.client.upload_recording(
                        url, self.job.recording, check_duration=self.job.check_duration
                    )
            except UploadURLExpiredError as exc:
                expired = exc
            except UploadError as exc:
                if exc.is_transient:
                    raise
                return await self._after_refusal(entry, exc)
            except TimeoutError:  # the deadline, or a RequestTimeoutError (re-raised)
                self._raise_if_expired(scope, entry)
                raise
            except HeliosError:
                raise
            except OSError as exc:  # the recording became unreadable after its checks
                unreadable = f"could not be read while uploading: {exc}"
                raise RecordingError("recording", unreadable) from exc
            else:
                return await self._write(entry, JobState.UPLOADED, upload_url=None)
        # The URL is dead. Did an earlier attempt store the recording after all?
        if not created_here:
            await self._outlive_uploads(entry)
        run = await self._look(entry)
        if isinstance(run, JournalEntry):
            return run
        if _arrived(run):
            return await self._write(entry, JobState.UPLOADED, upload_url=None)
        error = expired or UploadURLExpiredError(403, model_run_id=entry.model_run_id)
        if entry.creates > self.restarts:
            return await self._write(entry, JobState.DONE, upload_url=None, error=error_json(error))
        logger.info(
            "upload URL of model run %s expired unused; starting over with a new run",
            entry.model_run_id,
        )
        return attrs.evolve(entry, state=JobState.CREATING)

    async def _after_refusal(self, entry: JournalEntry, exc: UploadError) -> JournalEntry:
        run = await self._look(entry)
        if isinstance(run, JournalEntry):
            return run
        if _arrived(run):  # another owner's upload got there
            return await self._write(entry, JobState.UPLOADED, upload_url=None)
        return await self._write(entry, JobState.DONE, upload_url=None, error=error_json(exc))

    async def _outlive_uploads(self, entry: JournalEntry) -> None:
        """Wait until no upload an earlier owner started before the URL expired can still be
        under way: ``url_expires_at`` plus the longest an upload attempt of this recording
        may take (``Timeouts.upload_limits``, which follows its size)."""
        expires = entry.url_expires_at if entry.url_expires_at is not None else self.clock()
        info = await check_recording(self.job.recording, check_duration=False)
        _sending, attempt = self.client.timeouts.upload_limits(info.size)
        left = expires + attempt - self.clock()
        if left > 0:
            logger.info(
                "waiting %.1f s for any upload of model run %s to end", left, entry.model_run_id
            )
            await self.sleep(left)

    async def _wait(self, entry: JournalEntry) -> JournalEntry:
        self.phase = "poll"
        assert entry.model_run_id is not None
        budget = self._remaining()
        try:
            run = await self.client.wait_for_model_run(entry.model_run_id, timeout=budget)
        except NotFoundError as exc:
            return await self._write(entry, JobState.DONE, error=error_json(exc))
        error = None if run.succeeded else error_json(ModelRunFailedError(run))
        return await self._write(entry, JobState.DONE, run=dict(run.raw), error=error)

    async def _look(self, entry: JournalEntry) -> ModelRun | JournalEntry:
        """The run now, or the ``done`` entry written if it is gone (404)."""
        assert entry.model_run_id is not None
        scope = self._deadline()
        try:
            async with scope:
                return await self.client.get_model_run(entry.model_run_id)
        except NotFoundError as exc:
            return await self._write(entry, JobState.DONE, upload_url=None, error=error_json(exc))
        except TimeoutError:
            self._raise_if_expired(scope, entry)
            raise

    # -- the journal and the deadline -------------------------------------------------------

    async def _write(
        self, old: JournalEntry | None, state: JobState, *, key: str = "", **fields: Any
    ) -> JournalEntry:
        base = old if old is not None else JournalEntry(key=key, state=state)
        entry = attrs.evolve(base, state=state, updated_at=self.clock(), **fields)
        await write_through(self.journal.put(entry, token=self.token))
        if self.on_entry is not None:
            outcome = self.on_entry(entry)
            if outcome is not None:
                await outcome
        return entry

    def _deadline(self) -> asyncio.Timeout:
        return asyncio.timeout_at(self.when)

    def _budget(self) -> float:
        return self.job.deadline or 0.0

    def _remaining(self) -> float | None:
        if self.when is None:
            return None
        left = self.when - asyncio.get_running_loop().time()
        if left <= 0:
            self._deadline_passed(None)
        return left

    def _past(self, moment: float | None) -> bool:
        return moment is not None and self.clock() >= moment

    def _raise_if_expired(self, scope: asyncio.Timeout, entry: JournalEntry) -> None:
        if scope.expired():
            self._deadline_passed(entry.model_run_id)

    def _deadline_passed(self, model_run_id: str | None) -> NoReturn:
        raise DeadlineExceededError(
            self.phase, timeout=self._budget(), model_run_id=model_run_id
        ) from None


async def _answer(
    sending: asyncio.Future[ModelRunCreated], cancelled: asyncio.CancelledError
) -> ModelRunCreated:
    """The create's answer (or its error), however often the caller is cancelled meanwhile,
    within :data:`CANCEL_GRACE` seconds; past that the create is abandoned (its outcome
    unknown: the entry stays ``creating``) and the cancellation re-raised."""
    loop = asyncio.get_running_loop()
    until = loop.time() + CANCEL_GRACE
    while not sending.done() and loop.time() < until:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([sending], timeout=until - loop.time())
    if not sending.done():
        sending.cancel()
        await asyncio.wait([sending])
        raise cancelled
    return sending.result()


def _arrived(run: ModelRun) -> bool:
    """Whether a run has its recording: it left ``CREATED`` (or started running)."""
    return run.status != ModelRunStatus.CREATED or run.run_at is not None
