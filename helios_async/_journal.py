"""The run journal: where each job's model run stands, kept outside the process (issue 11).

A run costs money from the moment its recording is uploaded, and its identity must outlive
the process that created it. A journal keeps, per job *key*, one :class:`JournalEntry`
that moves through these states::

    (none) ──> creating ──> created ──> uploaded ──> done
                  │            │  ^         │
                  │            │  └─ a new run, only when the old one provably can never
                  │            │     be processed (its URL expired, it is still CREATED)
                  │            └──────────────────> done   (a final error)
                  ├──> unknown   (the create's outcome is unknown: never retried)
                  ├──> done      (the create was refused for good: 422)
                  └──> (none)    (the create provably made nothing: free to try again)

``creating`` is written before the create POST is sent and ``created`` (the run id, its
presigned upload URL and when that expires) before the upload starts, so whatever stops a
worker, every run it made is on record. An entry left in ``creating`` means a create was in
flight when its owner stopped: whether a run exists is unknown, and the next owner marks it
``unknown`` instead of creating another (see
https://helios-async.readthedocs.io/helios/#retries-and-idempotency). ``done`` and
``unknown`` are final.

Writes are owned: each delivery of a job *claims* its key and gets a fresh owner token, and
every later write must carry it; a store refuses a write whose token is no longer the
key's owner (:class:`JournalConflictError`), so a worker that was presumed dead and comes
back cannot overwrite the work of the one that took over.

Stores implement :class:`Journal`: ``FileJournal`` (``_journal_file``, one process, a local
file) and ``RedisJournal`` (``_journal_redis``, a fleet; imported only on demand).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from collections.abc import Coroutine, Mapping
from typing import Any, Protocol, Self

import attrs

from ._converter import structure
from ._errors import APIError, InvalidInputError, UploadError
from ._models import ModelRun

__all__ = [
    "JobState",
    "Journal",
    "JournalEntry",
    "check_key",
    "check_transition",
    "error_json",
    "write_through",
]

MAX_KEY_LENGTH = 512


class JobState(enum.StrEnum):
    """Where a job's model run stands in a journal (see :class:`JournalEntry`)."""

    CREATING = "creating"
    """A create request is (or was) in flight; no run id is known yet."""
    CREATED = "created"
    """The run exists (``model_run_id``); its recording is not known to be uploaded."""
    UPLOADED = "uploaded"
    """The recording was stored; the run is processing or finished."""
    DONE = "done"
    """Final: the run finished (``run``), or the job ended with an ``error``."""
    UNKNOWN = "unknown"
    """Final: a create may or may not have made a run; never retried automatically."""


FINAL_STATES = frozenset({JobState.DONE, JobState.UNKNOWN})

# Which state may follow which (None: no entry). A job goes back to no entry only from
# ``creating``, when the create provably made nothing; a ``created`` run goes back to
# ``creating`` only to replace a run whose URL expired unused.
_NEXT: Mapping[JobState | None, frozenset[JobState | None]] = {
    None: frozenset({JobState.CREATING}),
    JobState.CREATING: frozenset({JobState.CREATED, JobState.UNKNOWN, JobState.DONE, None}),
    JobState.CREATED: frozenset({JobState.UPLOADED, JobState.DONE, JobState.CREATING}),
    JobState.UPLOADED: frozenset({JobState.DONE}),
    JobState.DONE: frozenset(),
    JobState.UNKNOWN: frozenset(),
}


def check_key(key: object) -> str:
    """``key`` if it is a usable journal key: a non-empty string of at most 512 characters.

    Raises:
        InvalidInputError: it is not.
    """
    if not isinstance(key, str) or not key:
        raise InvalidInputError("key", f"a journal key is a non-empty string, not {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError("key", f"a journal key has at most {MAX_KEY_LENGTH} characters")
    return key


def check_transition(old: JobState | None, new: JobState | None, *, key: str = "") -> None:
    """Refuse a move the state machine does not allow (the diagram above).

    Raises:
        ValueError: ``old`` may not be followed by ``new``; a bug in the caller.
    """
    if new not in _NEXT[old]:
        shown = f" of {key!r}" if key else ""
        raise ValueError(f"journal entry{shown} cannot go from {old} to {new}")


@attrs.frozen(kw_only=True)
class JournalEntry:
    """Where one job stands: its state and what the journal knows of its run.

    The upload URL, the run and the error are never shown in a repr (the URL carries a
    signature; the run and error name the person's label).
    """

    key: str = attrs.field(converter=check_key)
    """The job's key: yours, opaque, at most 512 characters."""
    state: JobState = attrs.field(converter=JobState)
    """Where the job stands (:class:`JobState`)."""
    model_run_id: str | None = None
    """The run's id, from ``created`` on; None before, or if no run was made."""
    upload_url: str | None = attrs.field(default=None, repr=False)
    """The run's presigned upload URL while an upload may still be needed, else None."""
    url_expires_at: float | None = None
    """When that URL stops accepting uploads at the latest (Unix time, seconds): when the
    create was answered plus the URL's validity (one hour, see
    https://helios-async.readthedocs.io/helios/#upload-the-recording)."""
    run: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    """``done`` once the run finished: the run as the API returned it (its camelCase JSON, as
    in ``ModelRun.raw``); else None."""
    error: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    """``done`` with a failure, or ``unknown``: ``{"type", "message", "code",
    "http_status"}`` (the error's class name, its message, the ``errorCode`` where there is
    one, the HTTP status of a refusal); else None."""
    creates: int = 0
    """How many create requests were sent for this job (more than 1 only when an expired
    URL made it start over)."""
    updated_at: float = 0.0
    """When the entry was written (Unix time, seconds)."""

    @property
    def is_final(self) -> bool:
        """Whether the entry is ``done`` or ``unknown``: nothing more will happen to it."""
        return self.state in FINAL_STATES

    @property
    def ok(self) -> bool:
        """Whether the job is ``done`` with a ``COMPLETE_OK`` run and no error."""
        return self.state == JobState.DONE and self.error is None and self.run is not None

    def model_run(self) -> ModelRun | None:
        """The finished run of a ``done`` entry, as a :class:`~helios_async.ModelRun`.

        Raises:
            DecodeError: the stored run does not fit the model (a journal from elsewhere).
        """
        return None if self.run is None else structure(dict(self.run), ModelRun)

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON-ready dict (the stores' wire form)."""
        return {
            "key": self.key,
            "state": self.state.value,
            "model_run_id": self.model_run_id,
            "upload_url": self.upload_url,
            "url_expires_at": self.url_expires_at,
            "run": dict(self.run) if self.run is not None else None,
            "error": dict(self.error) if self.error is not None else None,
            "creates": self.creates,
            "updated_at": self.updated_at,
        }

    def dumps(self) -> str:
        """The entry as one line of compact JSON (no newline)."""
        return json.dumps(
            self.to_json(), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> Self:
        """An entry from its :meth:`to_json` form.

        Raises:
            ValueError: the payload is not an entry (missing key or state, wrong types).
        """
        try:
            return cls(
                key=payload["key"],
                state=payload["state"],
                model_run_id=_optional(payload, "model_run_id", str),
                upload_url=_optional(payload, "upload_url", str),
                url_expires_at=_optional(payload, "url_expires_at", float),
                run=_optional(payload, "run", dict),
                error=_optional(payload, "error", dict),
                creates=int(payload.get("creates", 0)),
                updated_at=float(payload.get("updated_at", 0.0)),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a journal entry: {exc}") from exc


def _optional(payload: Mapping[str, Any], name: str, kind: type) -> Any:
    value = payload.get(name)
    if value is None:
        return None
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {kind.__name__}, not {type(value).__name__}")
    return value


def error_json(error: BaseException) -> dict[str, Any]:
    """``{"type", "message", "code", "http_status"}`` of an error: its class name, message,
    ``errorCode`` (where it has one) and the HTTP status of a refusal (API or storage)."""
    code = getattr(error, "error_code", None)
    status = error.status if isinstance(error, APIError | UploadError) else None
    return {
        "type": type(error).__name__,
        "message": str(error),
        "code": getattr(code, "value", code),
        "http_status": status,
    }


class Journal(Protocol):
    """What the journaled check needs of a store (``FileJournal``, ``RedisJournal``).

    Every write is owned: :meth:`claim` makes the caller the key's owner with a fresh token;
    :meth:`put` and :meth:`release` with a token that is no longer the owner's raise
    :class:`JournalConflictError` and change nothing.
    """

    async def claim(self, key: str) -> tuple[str, JournalEntry | None]:
        """Become the owner of ``key``: a fresh owner token, and its entry (None if none)."""
        ...

    async def put(self, entry: JournalEntry, *, token: str) -> None:
        """Store ``entry`` for ``entry.key``, durably, if ``token`` still owns the key.

        Raises:
            JournalConflictError: another owner claimed the key since ``token`` was given.
        """
        ...

    async def release(self, key: str, *, token: str) -> None:
        """Remove ``key``'s entry (its create provably made nothing), if ``token`` owns it.

        Raises:
            JournalConflictError: another owner claimed the key since ``token`` was given.
        """
        ...

    async def get(self, key: str) -> JournalEntry | None:
        """``key``'s entry, or None; claims nothing."""
        ...


async def write_through(write: Coroutine[Any, Any, None]) -> None:
    """Await a journal write to its end even if the check is cancelled meanwhile (then
    re-raise the cancellation), so a cancelled check never leaves a write half done behind
    it, nor one that lands after its store was closed."""
    task = asyncio.ensure_future(write)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller must see
        raise
