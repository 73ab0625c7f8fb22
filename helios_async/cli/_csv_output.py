"""``batch --format csv``: the output as one flat CSV row per check, beside JSON Lines.

The header is ``line,row_hash``, the manifest's columns as it names them (its ``key`` column
among them), then ``model_run_id,status``, the eleven scores by their snake_case names (in
the API's order), and ``error_type,error_code,error_message,journal`` (``journal``: the row's
state in the run journal, as in JSON Lines). Empty cells stand for null. A manifest column
named like one of the output's own gets the prefix ``row_``. Each record is one physical line
(``\\r\\n`` ends it): a line break inside a cell is written as a space, so a reader, and
``--resume`` after a killed run, can cut off a partial last line as in JSON Lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from helios_async._models import SCORE_NAMES

__all__ = ["csv_columns", "csv_header", "csv_line", "csv_record"]

_OWN = ("line", "row_hash", "model_run_id", "status", *SCORE_NAMES)
_ERROR = ("error_type", "error_code", "error_message", "journal")


def csv_columns(manifest_columns: Iterable[str]) -> list[str]:
    """The output's header for a manifest with ``manifest_columns``."""
    own = set(_OWN) | set(_ERROR)
    inputs = [f"row_{name}" if name in own else name for name in manifest_columns]
    return ["line", "row_hash", *inputs, "model_run_id", "status", *SCORE_NAMES, *_ERROR]


def csv_header(columns: Sequence[str]) -> bytes:
    """The header line of ``columns``, in UTF-8."""
    return _line(columns)


def csv_line(record: dict[str, Any], columns: Sequence[str]) -> bytes:
    """One output record (the dict a JSON line holds) as one CSV line, in UTF-8."""
    row = record.get("row") or {}
    scores = record.get("scores") or {}
    error = record.get("error") or {}
    own = set(_OWN) | set(_ERROR)
    values: dict[str, Any] = {f"row_{k}" if k in own else k: v for k, v in row.items()}
    values.update(
        line=record["line"],
        row_hash=record["row_hash"],
        model_run_id=record.get("model_run_id"),
        status=record.get("status"),
        error_type=error.get("type"),
        error_code=error.get("code"),
        error_message=error.get("message"),
        journal=record.get("journal"),
    )
    values.update({name: scores.get(name) for name in SCORE_NAMES})
    return _line([_cell(values.get(name)) for name in columns])


def csv_record(header: Sequence[str], cells: Sequence[str]) -> dict[str, Any]:
    """The parts of a record that resuming reads, from a CSV line's cells.

    Raises:
        ValueError: the cells do not fit the header, or ``line`` is not a number.
    """
    if len(cells) != len(header):
        raise ValueError("not a record of this header")
    values = dict(zip(header, cells, strict=True))
    error_type = values.get("error_type", "")
    return {
        "line": int(values["line"]),
        "key": values.get("key") or None,  # the manifest's key column, if it has one
        "row_hash": values["row_hash"],
        "model_run_id": values.get("model_run_id") or None,
        "status": values.get("status") or None,
        "error": {"type": error_type} if error_type else None,
        "journal": values.get("journal") or None,
    }


def _line(cells: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue().encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).splitlines()) if isinstance(value, str) else str(value)
