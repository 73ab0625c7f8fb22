"""``run_journaled_check``: one wellness check whose every step is on record in a journal.

Composed only of the client's public steps (``create_model_run``, ``upload_recording``,
``get_model_run``, ``wait_for_model_run``), each journaled before or after it runs (the
state machine is drawn in ``_journal``; the steps are ``_journal_steps``). Called again for
the same key, after a crash, a kill or a redelivery, it carries the job on from where the
journal says it stands, and never creates a second run for a job whose first one may still
be processed (see https://helios-async.readthedocs.io/helios/#retries-and-idempotency).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ._client import HeliosClient  # at run time too: typing.get_type_hints resolves it here
from ._errors import InvalidInputError
from ._fanout import WellnessJob
from ._journal import Journal, JournalEntry, check_key
from ._journal_steps import JournaledCheck, OnEntry
from ._validation import check_seconds

__all__ = ["run_journaled_check"]


async def run_journaled_check(
    client: HeliosClient,
    journal: Journal,
    key: str,
    job: WellnessJob,
    *,
    url_ttl: float = 3600.0,
    expired_url_restarts: int = 1,
    on_entry: OnEntry | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> JournalEntry:
    """Run ``job`` to its end under ``key``, journaling each step; return its final entry.

    What happens depends on the entry the journal holds for ``key`` (claimed first, so a
    previous owner of the key can write no more):

    * none: the inputs are checked (nothing is written if they are refused), ``creating``
      is written, the run is created, ``created`` (its id, URL and the URL's expiry) is
      written before the upload starts, ``uploaded`` after it, ``done`` once it finished.
    * ``done`` or ``unknown``: returned as stored; nothing is sent.
    * ``creating``: a create was in flight when its owner stopped; whether a run exists is
      unknown, so it becomes ``unknown`` and is returned. It is never retried
      automatically: list such entries for the user, who may ``forget`` them.
    * ``created``: the run is looked at. If its recording arrived, it is waited for; if it
      is still ``CREATED``, the recording is uploaded again while the URL is valid. A new run
      is created only when the old one provably can never be processed: its URL expired
      (storage refused it, or ``url_expires_at`` plus the longest upload attempt passed, so
      no upload of an earlier owner can still be under way) and the run is still ``CREATED``.
    * ``uploaded``: the run is waited for.

    ``url_ttl`` (seconds) is how long a presigned URL is valid (one hour; the sandbox's
    ``upload_url_ttl``). ``expired_url_restarts`` bounds how many runs an expired URL may
    replace. ``job.deadline`` (seconds) bounds each call of this function. ``on_entry(entry)``
    (a function or coroutine function) sees every entry written. ``clock`` (Unix seconds)
    and ``sleep`` are injectable for tests.

    Returns:
        The ``done`` entry (``entry.ok``, ``entry.model_run()``, ``entry.error``) or the
        ``unknown`` one (``entry.error`` says why). Final failures end ``done`` with the
        error: ``ModelRunFailedError`` (the run's JSON is kept too), ``BadRequestError``
        (the create was refused), ``UploadError`` and ``UploadURLExpiredError`` past the
        restarts, ``NotFoundError`` (the run is gone).

    Raises:
        InvalidInputError, RecordingError: refused locally; nothing was written or sent.
        JournalConflictError: another delivery claimed the key meanwhile; stop.
        DeadlineExceededError: ``job.deadline`` passed after the run was created, or a wait
            ran out; the entry stays ``created`` or ``uploaded``, to resume later.
        ConnectError, RateLimitError, AuthenticationError, ...: the create failed in a way
            that proves no run was made; the entry is removed, so the job can run again.
        TransportError, TransientAPIError, UploadError: a transient failure after the run
            was created (its retries used up); the entry stays, to resume later.
    """
    check_key(key)
    ttl = check_seconds("url_ttl", url_ttl)
    assert ttl is not None
    restarts = expired_url_restarts
    if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 0:
        raise InvalidInputError("expired_url_restarts", f"must be an int, 0 or more: {restarts!r}")
    token, entry = await journal.claim(key)
    check = JournaledCheck(client, journal, token, job, ttl, restarts, on_entry, clock, sleep)
    return await check.run(key, entry)
