"""A finished fleet job as one JSON record: the line ``helios-async batch`` writes.

``{"line", "key", "row_hash", "row", "model_run_id", "status", "scores", "warnings",
"error", "journal", "seconds", "finished_at"}``, as in batch's output (see the "Command line"
guide): for a manifest row, ``line``, ``row_hash`` and ``row`` describe it and
``key`` is its ``key`` cell or null; for a job submitted from Python, ``key`` is the job's
and the row fields are null. ``error`` is null on ``COMPLETE_OK``, else ``{"type",
"message", "code", "http_status", "field"}``; ``journal`` is the job's state in the run journal when
the record was made (``done``, ``unknown``; ``created`` or ``uploaded`` with a run left to
pick up; null when no run was made).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from helios_async import (
    APIError,
    HeliosError,
    InvalidInputError,
    ModelRun,
    ModelRunFailedError,
    RecordingError,
    UploadError,
)

from ._payload import FleetJob, RowInfo

__all__ = ["display_key", "error_fields", "identity", "job_record"]


def display_key(fleet_job: FleetJob) -> str | None:
    """The record's ``key``: a row's ``key`` cell (or None), else the job's key."""
    if fleet_job.row is None:
        return fleet_job.key
    return fleet_job.row.cells.get("key") or None


def identity(record: Mapping[str, Any]) -> tuple[object, object, object]:
    """What tells a batch's records apart: ``(key, line, row_hash)``."""
    return record.get("key"), record.get("line"), record.get("row_hash")


def job_record(
    key: str | None,
    row: RowInfo | None,
    *,
    run: ModelRun | None,
    error: BaseException | Mapping[str, Any] | None,
    model_run_id: str | None,
    journal: str | None,
    seconds: float,
) -> dict[str, Any]:
    """The record of a job that ended with ``run`` (the last seen) or ``error`` (an
    exception, or its fields as the journal keeps them)."""
    if isinstance(error, BaseException):
        error = error_fields(error)
    section = run.section if run is not None and error is None else None
    return {
        "line": row.line if row is not None else None,
        "key": key,
        "row_hash": row.row_hash if row is not None else None,
        "row": dict(row.cells) if row is not None else None,
        "model_run_id": model_run_id,
        "status": run.status.value if run is not None else None,
        "scores": section.scores if section is not None else None,
        "warnings": list(run.warnings) if run is not None else [],
        "error": {"field": None, **error} if error is not None else None,
        "journal": journal,
        "seconds": round(seconds, 3),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
    }


def error_fields(error: BaseException) -> dict[str, Any]:
    """``{"type", "message", "code", "http_status", "field"}`` of an error, as ``batch``
    writes them (``field``: the input an ``InvalidInputError`` names, else None)."""
    code = None
    if isinstance(error, ModelRunFailedError | RecordingError) and error.error_code is not None:
        code = error.error_code.value
    status = error.status if isinstance(error, APIError | UploadError) else None
    return {
        "type": type(error).__name__,
        "message": str(error) if isinstance(error, HeliosError) else type(error).__name__,
        "code": code,
        "http_status": status,
        "field": error.field if isinstance(error, InvalidInputError) else None,
    }
