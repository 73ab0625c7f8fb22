"""A finished fleet job as one JSON record: the line ``helios-async batch`` writes, plus the
job's ``key``.

``{"key", "line", "row_hash", "row", "model_run_id", "status", "scores", "warnings",
"error", "seconds", "finished_at"}``: ``line``, ``row_hash`` and ``row`` describe the
manifest row (null for a job submitted from Python); the other fields are those of a
``batch`` line (see the README's batch section): ``error`` is null on ``COMPLETE_OK``, else
``{"type", "message", "code", "http_status"}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from helios_async import (
    APIError,
    HeliosError,
    ModelRun,
    ModelRunFailedError,
    RecordingError,
    UploadError,
)

from ._payload import RowInfo

__all__ = ["error_fields", "job_record"]


def job_record(
    key: str,
    row: RowInfo | None,
    *,
    run: ModelRun | None,
    error: BaseException | Mapping[str, Any] | None,
    model_run_id: str | None,
    seconds: float,
) -> dict[str, Any]:
    """The record of a job that ended with ``run`` (the last seen) or ``error`` (an
    exception, or its fields as the journal keeps them)."""
    if isinstance(error, BaseException):
        error = error_fields(error)
    section = run.section if run is not None else None
    return {
        "key": key,
        "line": row.line if row is not None else None,
        "row_hash": row.row_hash if row is not None else None,
        "row": dict(row.cells) if row is not None else None,
        "model_run_id": model_run_id,
        "status": run.status.value if run is not None else None,
        "scores": section.scores() if section is not None and error is None else None,
        "warnings": list(run.warnings) if run is not None else [],
        "error": dict(error) if error is not None else None,
        "seconds": round(seconds, 3),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
    }


def error_fields(error: BaseException) -> dict[str, Any]:
    """``{"type", "message", "code", "http_status"}`` of an error."""
    code = None
    if isinstance(error, ModelRunFailedError | RecordingError) and error.error_code is not None:
        code = error.error_code.value
    status = error.status if isinstance(error, APIError | UploadError) else None
    return {
        "type": type(error).__name__,
        "message": str(error) if isinstance(error, HeliosError) else type(error).__name__,
        "code": code,
        "http_status": status,
    }
