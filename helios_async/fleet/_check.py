"""One fleet job on a worker: the journaled wellness check, and its one result.

A job delivered again (its first worker died, or its lease lapsed) is not checked again
from scratch: the batch's state says whether its result is already out, and the run
journal in Redis (``helios_async.run_journaled_check`` on a ``RedisJournal``) says how far
its check got: a run that exists is waited for (or its recording uploaded again), never
created twice; a create that was in flight when its worker died ends ``unknown``
(docs/helios.md#retries-and-idempotency).
The result record is appended to the batch's stream at most once per key.

Failures that prove no run was made (a connection that could not be opened, a 429) and
transient ones after the run exists are tried again here a few times, the 429 after the
fleet's cool-down; what is left becomes the job's failed result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

from helios_async import (
    ConnectError,
    DeadlineExceededError,
    DecodeError,
    HeliosClient,
    HeliosError,
    InvalidInputError,
    JobState,
    JournalConflictError,
    JournalEntry,
    RateLimitError,
    TransientAPIError,
    TransportError,
    UploadError,
    run_journaled_check,
)
from helios_async._journal_redis import RedisJournal

from ._cooldown import FleetCooldown
from ._names import FleetNames
from ._payload import FleetJob, decode_job
from ._records import display_key, job_record
from ._state import FINAL_STATES, BatchState

__all__ = ["ATTEMPTS", "CheckRunner"]

logger = logging.getLogger("helios_async.fleet")

RedisFactory = Callable[[], contextlib.AbstractAsyncContextManager[Any]]
ATTEMPTS = 4  # tries of one job on one delivery, for failures worth another try
_BACKOFF = 1.0  # seconds, doubled per try, with full jitter


class CheckRunner:
    """The handler a worker runs for each payload, with the worker's one client.

    ``url_ttl`` (seconds) is how long the API's presigned upload URLs stay valid
    (docs/helios.md#upload-the-recording).
    """

    def __init__(
        self,
        client: HeliosClient,
        redis: RedisFactory,
        names: FleetNames,
        cooldown: FleetCooldown,
        *,
        url_ttl: float = 3600.0,
    ) -> None:
        self._client = client
        self._redis = redis
        self._names = names
        self._cooldown = cooldown
        self._url_ttl = url_ttl

    async def __call__(self, payload: str) -> None:
        try:
            fleet_job = decode_job(payload)
        except InvalidInputError as exc:
            logger.error("dropped a message that is not a fleet job: %s", exc)  # noqa: TRY400
            return
        names = self._names.batch(fleet_job.batch)
        async with self._redis() as redis:
            state = BatchState(redis, names)
            if await state.state_of(fleet_job.key) in FINAL_STATES:
                return  # delivered again after its result was out
            journal = RedisJournal(redis, namespace=f"{names.fleet.fleet}:{names.batch}")
            ended = await self.check(fleet_job, journal)
            if ended is None:
                return  # another delivery owns the job now; it writes the result
            record, final = ended
            await state.emit(
                fleet_job.key, final, record, job=payload if final == "unknown" else None
            )
            if final != "unknown":
                # The batch's state now says done; the journal entry (the whole run) is not
                # needed any more, and would grow Redis by a run per row.
                await journal.forget(fleet_job.key)

    async def check(
        self, fleet_job: FleetJob, journal: RedisJournal
    ) -> tuple[dict[str, Any], str] | None:
        """Run the job's check to its record and final state (None: taken over)."""
        loop = asyncio.get_running_loop()
        started = loop.time()

        def record(entry: JournalEntry | None, error: BaseException | None) -> dict[str, Any]:
            try:
                run = entry.model_run() if entry is not None else None
            except DecodeError:
                run = None
            return job_record(
                display_key(fleet_job),
                fleet_job.row,
                run=run,
                error=error if error is not None else (entry.error if entry else None),
                model_run_id=entry.model_run_id if entry is not None else None,
                journal=entry.state.value if entry is not None else None,
                seconds=loop.time() - started,
            )

        last: HeliosError | None = None
        for attempt in range(1, ATTEMPTS + 1):
            await self._cooldown.wait()
            try:
                entry = await run_journaled_check(
                    self._client,
                    journal,
                    fleet_job.key,
                    fleet_job.job,
                    url_ttl=self._url_ttl,
                    on_entry=self._on_entry,
                )
            except JournalConflictError:
                logger.warning("a job was taken over by another delivery; leaving it")
                return None
            except RateLimitError as exc:
                self._cooldown.note(exc.retry_after or _BACKOFF)
                last = exc
                continue
            except DeadlineExceededError as exc:
                return record(await journal.get(fleet_job.key), exc), "failed"
            except (ConnectError, TransportError, TransientAPIError) as exc:
                last = exc
            except UploadError as exc:
                if not exc.is_transient:
                    return record(await journal.get(fleet_job.key), exc), "failed"
                last = exc
            except HeliosError as exc:  # refused inputs, a bad key: final, nothing was made
                return record(await journal.get(fleet_job.key), exc), "failed"
            except OSError as exc:  # the recording cannot be read on this worker
                error = InvalidInputError("recording", f"cannot be read by a worker: {exc}")
                return record(None, error), "failed"
            else:
                if entry.state == JobState.UNKNOWN:
                    return record(entry, None), "unknown"
                return record(entry, None), "ok" if entry.ok else "failed"
            await asyncio.sleep(random.uniform(0, _BACKOFF * 2 ** (attempt - 1)))
        assert last is not None
        return record(await journal.get(fleet_job.key), last), "failed"

    async def _on_entry(self, entry: JournalEntry) -> None:
        """Just before a create is sent: honour a cool-down broadcast meanwhile."""
        if entry.state == JobState.CREATING and self._cooldown.pending():
            await self._cooldown.wait()
