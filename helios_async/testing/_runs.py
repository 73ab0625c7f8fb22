"""Model runs held by the sandbox, and their lazily computed lifecycle (docs/helios.md#statuses).

A run stores only timestamps and the outcome decided when its recording arrived; its status
is derived from the sandbox clock on every read. No task runs in the background, so there
is nothing to cancel or leak.
"""

from __future__ import annotations

import datetime
import typing
from collections.abc import Callable

import attrs

from helios_async.testing._scoring import Outcome

__all__ = ["RETENTION_AFTER_COMPLETION", "Run", "RunStore", "iso8601"]

#: With ``deleteData`` a run's data is deleted this long after completion; GET then
#: answers 404 (docs/helios.md#deleting-data).
RETENTION_AFTER_COMPLETION: typing.Final[datetime.timedelta] = datetime.timedelta(hours=12)


def iso8601(moment: datetime.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00``, the documented response timestamp form."""
    return moment.astimezone(datetime.UTC).isoformat()


@attrs.define(kw_only=True, eq=False)
class Run:
    """One model run. Times are aware UTC datetimes from the sandbox clock."""

    id: str  # canonical lowercase UUID4 string
    created_at: datetime.datetime
    user_label: str
    delete_data: bool
    activity: bool  # created through the Activity Plugin flow
    upload_expires_at: datetime.datetime | None  # None for activity runs (no presigned URL)
    run_at: datetime.datetime | None = None  # when the recording arrived (RUNNING from here)
    completed_at: datetime.datetime | None = None  # run_at + processing delay (scheduled)
    outcome: Outcome | None = None
    stalled: bool = False  # fault injection (NeverFinishes): stays RUNNING once started

    @property
    def started(self) -> bool:
        """True once a recording has been accepted for this run."""
        return self.run_at is not None

    def status_at(self, now: datetime.datetime) -> str:
        """The status at ``now``: CREATED, RUNNING, COMPLETE_OK or COMPLETE_ERROR.

        A ``stalled`` run never gets past RUNNING (fault injection, ``NeverFinishes``).
        """
        if self.run_at is None or self.completed_at is None or self.outcome is None:
            return "CREATED"
        if self.stalled or now < self.completed_at:
            return "RUNNING"
        return "COMPLETE_ERROR" if self.outcome.error_code is not None else "COMPLETE_OK"

    def deleted_at(self, now: datetime.datetime) -> bool:
        """True when ``deleteData`` removed the run: 12 h after completion."""
        return (
            self.delete_data
            and self.completed_at is not None
            and now >= self.completed_at + RETENTION_AFTER_COMPLETION
        )

    def to_json(self, now: datetime.datetime) -> dict[str, typing.Any]:
        """The body of a read of the run at ``now``: every documented key, null if unset."""
        status = self.status_at(now)
        complete = status in ("COMPLETE_OK", "COMPLETE_ERROR")
        outcome = self.outcome if complete else None
        return {
            "id": self.id,
            "createdAt": iso8601(self.created_at),
            "status": status,
            "userLabel": self.user_label,
            "deleteData": self.delete_data,
            "runAt": None if self.run_at is None else iso8601(self.run_at),
            "completedAt": (iso8601(self.completed_at) if complete and self.completed_at else None),
            "errorReason": None if outcome is None else outcome.error_reason,
            "warnings": None if outcome is None or not outcome.warnings else [*outcome.warnings],
            "results": None if outcome is None else outcome.results,
            "errorCode": None if outcome is None else outcome.error_code,
        }


class RunStore:
    """Runs by id, plus the knobs that decide how they progress. Shared by both hosts."""

    def __init__(self, *, clock: Callable[[], datetime.datetime], processing_delay: float) -> None:
        self._clock = clock
        self.processing_delay = processing_delay  # seconds a run stays RUNNING
        self.runs: dict[str, Run] = {}
        self.forced_errors: dict[str, str] = {}  # userLabel -> errorCode (Sandbox.set_outcome)

    def now(self) -> datetime.datetime:
        """The sandbox clock; refuses naive datetimes rather than guess their zone."""
        moment = self._clock()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("the Sandbox clock must return timezone-aware datetimes")
        return moment.astimezone(datetime.UTC)

    def add(self, run: Run) -> None:
        self.runs[run.id] = run

    def start(self, run: Run, outcome: Outcome) -> bool:
        """Accept the recording's outcome: CREATED -> RUNNING now, terminal after the delay.

        Returns False (and changes nothing) when the run already has a recording.
        """
        if run.started:
            return False
        run.run_at = self.now()
        run.completed_at = run.run_at + datetime.timedelta(seconds=self.processing_delay)
        run.outcome = outcome
        return True
