"""The batch command's output: JSON Lines, one whole line per finished row (issue 4).

Each line is one JSON object::

    {"line": 2, "row_hash": "3f1c0a9be2d47e61", "row": {"recording": "a.wav", ...},
     "model_run_id": "ddebd75b-...", "status": "COMPLETE_OK",
     "scores": {"mental_strain": 0.42, ...}, "warnings": [...], "error": null,
     "seconds": 1.234, "finished_at": "2026-03-26T09:31:40.123456+00:00"}

``status`` is the run's last status seen (docs/helios.md#statuses), or null when no run was
seen; ``scores`` are the eleven scores (docs/helios.md#results-and-scores) by their snake_case
names, or null; ``error`` is null on ``COMPLETE_OK``, else ``{"type", "message", "code",
"http_status"}``: the error's class, its message, the ``errorCode``
(docs/helios.md#error-codes) where there is one and the HTTP status of an
API or storage refusal. ``seconds`` is how long the check took; a bad row has 0.

Every line is written whole, with one unbuffered write, so a reader never sees half a
line; a process killed mid-write can leave at most one partial last line, which resuming
removes. If a row was checked again after its manifest row changed, the last line for that
``line`` number is the current one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import attrs

from helios_async import (
    APIError,
    HeliosError,
    ModelRunFailedError,
    RecordingError,
    UploadError,
    WellnessOutcome,
)

from ._manifest import ManifestRow

__all__ = ["Recorded", "ResultsFile", "bad_row_record", "load_recorded", "outcome_record"]


def outcome_record(row: ManifestRow, outcome: WellnessOutcome) -> dict[str, Any]:
    """The output line (as a dict) of a row whose check finished, well or not."""
    run = outcome.run
    section = run.section if run is not None else None
    return {
        "line": row.line,
        "row_hash": row.digest,
        "row": dict(row.cells),
        "model_run_id": outcome.model_run_id,
        "status": run.status.value if run is not None else None,
        "scores": section.scores() if section is not None and outcome.ok else None,
        "warnings": list(run.warnings) if run is not None else [],
        "error": error_fields(outcome.error) if outcome.error is not None else None,
        "seconds": round(outcome.elapsed, 3),
        "finished_at": _now(),
    }


def bad_row_record(row: ManifestRow, error: HeliosError) -> dict[str, Any]:
    """The output line of a row refused before anything was sent (bad cells)."""
    return {
        "line": row.line,
        "row_hash": row.digest,
        "row": dict(row.cells),
        "model_run_id": None,
        "status": None,
        "scores": None,
        "warnings": [],
        "error": error_fields(error),
        "seconds": 0.0,
        "finished_at": _now(),
    }


def error_fields(error: BaseException) -> dict[str, Any]:
    """``{"type", "message", "code", "http_status"}`` of an error, for the output."""
    code = None
    if isinstance(error, ModelRunFailedError | RecordingError) and error.error_code is not None:
        code = error.error_code.value
    status = error.status if isinstance(error, APIError | UploadError) else None
    return {
        "type": type(error).__name__,
        "message": str(error),
        "code": code,
        "http_status": status,
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class ResultsFile:
    """The output, opened for appending; each :meth:`write` is one whole line, at once in
    the file (unbuffered: no flush needed). Closing syncs it to disk.

    Raises:
        OSError: the file cannot be opened or written (disk full, permissions).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("ab", buffering=0)
        self.written = 0

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one JSON line."""
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        view = memoryview(f"{text}\n".encode())
        while view:
            sent = self._file.write(view)
            view = view[sent or 0 :]
        self.written += 1

    def close(self) -> None:
        """Sync to disk and close; idempotent."""
        if not self._file.closed:
            try:
                os.fsync(self._file.fileno())
            finally:
                self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@attrs.frozen(kw_only=True)
class Recorded:
    """What an existing output already holds.

    ``digests`` maps each recorded line number to the row hash of its last record;
    ``repaired`` counts the bytes of a partial last line that were cut off (0 if none);
    ``unreadable`` counts complete lines that are not records (their rows run again);
    ``retrying`` counts rows that failed before any run existed (no model run id: a
    connection, rate-limit, server, key or unknown-outcome failure), which run again.
    """

    digests: dict[int, str]
    repaired: int = 0
    unreadable: int = 0
    retrying: int = 0

    def status(self, row: ManifestRow) -> str:
        """``"done"`` (recorded, unchanged), ``"changed"`` (recorded with other cells) or
        ``"new"``."""
        recorded = self.digests.get(row.line)
        if recorded is None:
            return "new"
        return "done" if recorded == row.digest else "changed"


def load_recorded(path: Path) -> Recorded:
    """Read an existing output to resume it, cutting off a partial last line.

    Reads line by line; memory grows with the number of records (about 120 bytes each).

    Raises:
        OSError: the file cannot be read or repaired.
    """
    digests: dict[int, str] = {}
    unreadable = 0
    failed_early: set[int] = set()
    with path.open("r+b") as stream:
        complete = 0  # offset just past the last complete line
        for raw in stream:
            if not raw.endswith(b"\n"):
                break  # the partial last line of a killed writer
            complete += len(raw)
            try:
                record = json.loads(raw)
                line, digest = record["line"], record["row_hash"]
            except (ValueError, TypeError, KeyError):
                unreadable += raw.strip() != b""
                continue
            if not (isinstance(line, int) and isinstance(digest, str)):
                unreadable += 1
            elif _settled(record):
                digests[line] = digest
                failed_early.discard(line)
            else:
                failed_early.add(line)
        size = stream.seek(0, os.SEEK_END)
        if complete < size:
            stream.truncate(complete)
    return Recorded(
        digests=digests,
        repaired=size - complete,
        unreadable=unreadable,
        retrying=len(failed_early - digests.keys()),
    )


# Answers that running the row again cannot change: the input is at fault, or the model spoke.
_FINAL_ERRORS = frozenset({"ModelRunFailedError", "RecordingError", "InvalidInputError"})


def _settled(record: dict[str, object]) -> bool:
    """Whether a recorded row is done: it has a run (never paid for twice) or a final answer."""
    error = record.get("error")
    if error is None or record.get("model_run_id") is not None:
        return True
    return isinstance(error, dict) and error.get("type") in _FINAL_ERRORS
