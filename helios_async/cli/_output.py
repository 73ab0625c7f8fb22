"""The batch command's output: JSON Lines, one whole line per finished row (issue 4).

Each line is one JSON object::

    {"line": 2, "key": null, "row_hash": "3f1c0a9be2d47e61", "row": {"recording": "a.wav", ...},
     "model_run_id": "ddebd75b-...", "status": "COMPLETE_OK",
     "scores": {"mental_strain": 0.42, ...}, "warnings": [...], "error": null,
     "journal": "done", "seconds": 1.234, "finished_at": "2026-03-26T09:31:40.123456+00:00"}

``key`` is the row's ``key`` cell, or null; ``status`` is the run's last status seen
(docs/helios.md#statuses), or null when no run was seen; ``scores`` are the eleven scores
(docs/helios.md#results-and-scores) by their snake_case names, or null; ``error`` is null on
``COMPLETE_OK``, else ``{"type", "message", "code", "http_status", "field"}``: the error's
class, its message, the ``errorCode`` (docs/helios.md#error-codes) where there is one, the HTTP
status of an API or storage refusal, and the input (column or option) refused locally; each
key is always present, null where it does not apply. ``journal`` is the row's state in the
run journal when the line was written (``done``, ``unknown``; ``created`` or ``uploaded``
if the check stopped with a run to pick up again; null if no run was made). ``seconds`` is
how long the check took; a bad row has 0.

With ``--format csv`` each record is one CSV line instead, of the same fields, flat
(``_csv_output``). Every line is written whole, with one unbuffered write, so a reader never
sees half a line; a process killed mid-write can leave at most one partial last line, which
resuming removes. If a row was checked again, the last line for that row (by key, else by
line number) is the current one.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import attrs

from helios_async import (
    APIError,
    DecodeError,
    HeliosError,
    InvalidInputError,
    JournalEntry,
    ModelRunFailedError,
    RecordingError,
    UploadError,
)

from ._csv_output import csv_columns, csv_header, csv_line, csv_record
from ._manifest import ManifestRow

__all__ = [
    "FORMATS",
    "OUTPUT_MODE",
    "Recorded",
    "ResultsFile",
    "bad_row_record",
    "entry_record",
    "failure_record",
    "load_recorded",
]


def entry_record(row: ManifestRow, entry: JournalEntry, *, seconds: float) -> dict[str, Any]:
    """The output line (as a dict) of a row whose journaled check ended ``done`` or
    ``unknown``, well or not."""
    try:
        run = entry.model_run()
    except DecodeError:
        run = None
    section = run.section if run is not None and entry.ok else None
    return _record(
        row,
        model_run_id=entry.model_run_id,
        status=run.status.value if run is not None and run.status else None,
        scores=section.scores if section is not None else None,
        warnings=list(run.warnings) if run is not None else [],
        error={"field": None, **entry.error} if entry.error is not None else None,
        journal=entry.state.value,
        seconds=seconds,
    )


def failure_record(
    row: ManifestRow,
    error: HeliosError,
    *,
    model_run_id: str | None,
    journal: str | None,
    seconds: float,
) -> dict[str, Any]:
    """The output line of a row whose check stopped with ``error`` before its journal entry
    was final: ``journal`` is where it stands (``created``, ``uploaded``: resuming picks the
    run up; None: no run was made, resuming checks it again)."""
    last_run = getattr(error, "last_run", None)
    return _record(
        row,
        model_run_id=model_run_id,
        status=last_run.status.value if last_run is not None and last_run.status else None,
        scores=None,
        warnings=[],
        error=error_fields(error),
        journal=journal,
        seconds=seconds,
    )


def bad_row_record(row: ManifestRow, error: HeliosError) -> dict[str, Any]:
    """The output line of a row refused before anything was sent (bad cells)."""
    return _record(
        row,
        model_run_id=None,
        status=None,
        scores=None,
        warnings=[],
        error=error_fields(error),
        journal=None,
        seconds=0.0,
    )


def _record(
    row: ManifestRow,
    *,
    model_run_id: str | None,
    status: str | None,
    scores: dict[str, float] | None,
    warnings: list[str],
    error: dict[str, Any] | None,
    journal: str | None,
    seconds: float,
) -> dict[str, Any]:
    return {
        "line": row.line,
        "key": row.key,
        "row_hash": row.digest,
        "row": dict(row.cells),
        "model_run_id": model_run_id,
        "status": status,
        "scores": scores,
        "warnings": warnings,
        "error": error,
        "journal": journal,
        "seconds": round(seconds, 3),
        "finished_at": _now(),
    }


def error_fields(error: BaseException) -> dict[str, Any]:
    """``{"type", "message", "code", "http_status", "field"}`` of an error, for the output:
    each key always there, null where it does not apply (``field``: the input an
    :class:`InvalidInputError` names)."""
    code = None
    if isinstance(error, ModelRunFailedError | RecordingError) and error.error_code is not None:
        code = error.error_code.value
    status = error.status if isinstance(error, APIError | UploadError) else None
    return {
        "type": type(error).__name__,
        "message": str(error),
        "code": code,
        "http_status": status,
        "field": error.field if isinstance(error, InvalidInputError) else None,
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


OUTPUT_MODE = 0o600
"""The mode a new output is created with: it holds labels, dates of birth and scores."""

FORMATS = ("jsonl", "csv")
"""The output formats: JSON Lines (this module's docstring) and CSV (``_csv_output``)."""


class ResultsFile:
    """The output, opened for appending; each :meth:`write` is one whole line, at once in
    the file (unbuffered: no flush needed). Closing syncs it to disk.

    A new file is created with mode 0600 (``OUTPUT_MODE``: the owner only, as the journal
    beside it); an existing one keeps its mode. ``format`` is ``"jsonl"`` or ``"csv"``; a CSV
    output gets the header of ``csv_header``
    (the manifest's columns) when the file is empty.

    Raises:
        OSError: the file cannot be opened or written (disk full, permissions).
    """

    def __init__(
        self, path: Path, *, format: str = "jsonl", manifest_columns: tuple[str, ...] = ()
    ) -> None:
        self.path = path
        # Created 0600, like the journal beside it: the lines hold labels, dates of birth and
        # scores. An existing file (--resume) keeps the mode it has: its owner chose it.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, OUTPUT_MODE)
        self._file = os.fdopen(fd, "ab", buffering=0)
        self.written = 0
        self._columns = csv_columns(manifest_columns) if format == "csv" else None
        if self._columns is not None and self._file.tell() == 0:
            self._write(csv_header(self._columns))

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line: JSON, or CSV cells."""
        if self._columns is not None:
            self._write(csv_line(record, self._columns))
        else:
            text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            self._write(f"{text}\n".encode())
        self.written += 1

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            sent = self._file.write(view)
            view = view[sent or 0 :]

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

    ``digests`` maps each recorded row's identity (``key:<key>`` or ``line:<n>``, see
    ``ManifestRow.identity``) to the row hash of its last settled record; ``unknown`` holds
    the identities among them whose create's outcome is unknown; ``repaired`` counts
    the bytes of a partial last line that were cut off (0 if none); ``unreadable`` counts
    complete lines that are not records (their rows run again); ``retrying`` counts rows
    whose last record is not settled (no run was made, or its run is still to be picked up
    from the journal), which run again.
    """

    digests: dict[str, str]
    unknown: frozenset[str] = frozenset()
    repaired: int = 0
    unreadable: int = 0
    retrying: int = 0
    failed: frozenset[str] = frozenset()  # identities whose last record is not COMPLETE_OK

    def status(self, row: ManifestRow) -> str:
        """``"done"`` (recorded, unchanged), ``"unknown"`` (recorded, unchanged, its create's
        outcome unknown), ``"changed"`` (recorded with other cells) or ``"new"``."""
        recorded = self.digests.get(row.identity)
        if recorded is None:
            return "new"
        if recorded != row.digest:
            return "changed"
        return "unknown" if row.identity in self.unknown else "done"

    def failed_before(self, row: ManifestRow) -> bool:
        """Whether ``row`` is done and its recorded check did not end ``COMPLETE_OK``."""
        return self.status(row) == "done" and row.identity in self.failed


def load_recorded(path: Path, *, csv_columns: list[str] | None = None) -> Recorded:
    """Read an existing output to resume it, cutting off a partial last line.

    Reads line by line; memory grows with the number of records (about 120 bytes each).
    ``csv_columns`` is the header a CSV output must have (None: the output is JSON Lines).

    Raises:
        InvalidInputError: the file is not an output of this format (and manifest's columns).
        OSError: the file cannot be read or repaired.
    """
    digests: dict[str, str] = {}
    unknown: set[str] = set()
    failed: set[str] = set()
    unreadable = 0
    unsettled: set[str] = set()
    with path.open("r+b") as stream:
        complete = 0  # offset just past the last complete line
        for number, raw in enumerate(stream):
            if not raw.endswith(b"\n"):
                break  # the partial last line of a killed writer
            complete += len(raw)
            if number == 0:
                _check_first_line(path, raw, csv_columns)
                if csv_columns is not None:
                    continue  # the header
            try:
                record = _parse(raw, csv_columns)
                line, digest, key = record["line"], record["row_hash"], record.get("key")
            except (ValueError, TypeError, KeyError, AttributeError):
                unreadable += raw.strip() != b""
                continue
            if not (isinstance(line, int) and isinstance(digest, str)):
                unreadable += 1
                continue
            identity = f"key:{key}" if isinstance(key, str) and key else f"line:{line}"
            if _settled(record):
                digests[identity] = digest
                unsettled.discard(identity)
                if record.get("error") is None:
                    failed.discard(identity)
                else:
                    failed.add(identity)
                if record.get("journal") == "unknown":
                    unknown.add(identity)
                else:
                    unknown.discard(identity)
            else:
                unsettled.add(identity)
                digests.pop(identity, None)
                unknown.discard(identity)
        size = stream.seek(0, os.SEEK_END)
        if complete < size:
            stream.truncate(complete)
    return Recorded(
        digests=digests,
        unknown=frozenset(unknown),
        repaired=size - complete,
        unreadable=unreadable,
        retrying=len(unsettled),
        failed=frozenset(failed),
    )


def _parse(raw: bytes, csv_columns: list[str] | None) -> dict[str, Any]:
    if csv_columns is None:
        record = json.loads(raw)
        if not isinstance(record, dict):
            raise TypeError("not a record")
        return record
    return csv_record(csv_columns, next(csv.reader([raw.decode()])))


def _check_first_line(path: Path, raw: bytes, csv_columns: list[str] | None) -> None:
    looks_csv = raw.startswith(b"line,row_hash,")
    if csv_columns is None and looks_csv:
        raise InvalidInputError(
            "--out", f"{path} is a CSV output: resume it with --format csv, or choose another file"
        )
    if csv_columns is not None and raw.decode(errors="replace").rstrip("\r\n") != (
        csv_header(csv_columns).decode().rstrip("\r\n")
    ):
        what = "a CSV output of another manifest" if looks_csv else "not a CSV output"
        raise InvalidInputError(
            "--out", f"{path} is {what}: its header differs; choose another file"
        )


# Answers that running the row again cannot change: the input is at fault, or the model spoke.
_FINAL_ERRORS = frozenset({"ModelRunFailedError", "RecordingError", "InvalidInputError"})


def _settled(record: dict[str, object]) -> bool:
    """Whether a recorded row is done. With a journal state: when it is final (``done``,
    ``unknown``), or when no run was made and the error is final. Lines written before the
    journal existed: when it has a run (never paid for twice) or a final answer."""
    error = record.get("error")
    if "journal" in record:
        journal = record["journal"]
        if journal in ("done", "unknown"):
            return True
        if journal is not None:
            return False  # a run to pick up again from the journal
    elif error is None or record.get("model_run_id") is not None:
        return True
    return error is None or (isinstance(error, dict) and error.get("type") in _FINAL_ERRORS)
