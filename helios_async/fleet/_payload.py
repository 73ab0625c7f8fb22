"""A fleet job as the JSON text a worker receives, and back.

Only JSON text crosses Redis: the engine pickles its task arguments, so the one argument is
a ``str``. A payload holds the batch, the job's key, the arguments of
``run_wellness_check`` (the recording as an absolute path: every worker must be able to open
it) and, for a manifest row, the row itself so the result line matches ``batch``'s::

    {"v": 1, "batch": "nightly", "key": "7-3f1c0a9be2d47e61",
     "job": {"recording": "/data/a.wav", "user": {...}, "language": "en-GB", ...},
     "row": {"line": 7, "row_hash": "3f1c0a9be2d47e61", "cells": {...}}}
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from helios_async import InvalidInputError, ModelRunRequest, Tag, User, WellnessJob

__all__ = ["FleetJob", "RowInfo", "decode_job", "encode_job", "job_key"]

VERSION = 1
MAX_KEY_LENGTH = 200


@attrs.frozen(kw_only=True)
class RowInfo:
    """The manifest row a job came from: ``line`` (1-based), ``row_hash`` and its ``cells``."""

    line: int
    row_hash: str
    cells: Mapping[str, str] = attrs.field(repr=False)  # labels, dates of birth


@attrs.frozen(kw_only=True)
class FleetJob:
    """A decoded payload: the batch, the job's key, the job and its row (if any)."""

    batch: str
    key: str = attrs.field(repr=False)  # yours: it may be a label
    job: WellnessJob
    row: RowInfo | None = None


def job_key(value: object) -> str:
    """``value`` if it is usable as a fleet job's key: a non-empty str of at most 200 chars.

    Raises:
        InvalidInputError: anything else.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            "key", f"a fleet job needs a str key of 1 to {MAX_KEY_LENGTH} characters"
        )
    return value


def encode_job(batch: str, job: WellnessJob, *, row: RowInfo | None = None) -> str:
    """The payload of ``job`` (its ``key`` is the job's key), every field checked now.

    Raises:
        InvalidInputError: the key is not a str, the recording is not a path, or a field
            breaks its rule (docs/helios.md#request-fields).
    """
    key = job_key(job.key)
    recording = job.recording
    if not isinstance(recording, str | os.PathLike):
        raise InvalidInputError(
            "recording", "a fleet job's recording must be a path that every worker can open"
        )
    ModelRunRequest(user=job.user, language=job.language, **job.create_fields())
    fields: dict[str, Any] = {
        "recording": str(Path(os.fspath(recording)).expanduser().absolute()),
        "user": {
            "user_label": job.user.user_label,
            "date_of_birth": job.user.date_of_birth.isoformat(),
            "birth_sex": job.user.birth_sex.value,
        },
        "language": job.language,
        "accent": job.accent,
        "sleep_time": _when(job.sleep_time),
        "wake_time": _when(job.wake_time),
        "recording_time": _when(job.recording_time),
        "tags": _tags(job.tags),
        "delete_data": job.delete_data,
        "data_to_delete": list(job.data_to_delete) if job.data_to_delete is not None else None,
        "deadline": job.deadline,
        "check_duration": job.check_duration,
    }
    payload: dict[str, Any] = {"v": VERSION, "batch": batch, "key": key, "job": fields}
    if row is not None:
        payload["row"] = {"line": row.line, "row_hash": row.row_hash, "cells": dict(row.cells)}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def decode_job(text: str) -> FleetJob:
    """The job of a payload made by :func:`encode_job`.

    Raises:
        InvalidInputError: the text is not such a payload.
    """
    try:
        payload = json.loads(text)
        _check_version(payload.get("v"))
        fields = payload["job"]
        user = fields["user"]
        job = WellnessJob(
            recording=Path(fields["recording"]),
            user=User(
                user_label=user["user_label"],
                date_of_birth=dt.date.fromisoformat(user["date_of_birth"]),
                birth_sex=user["birth_sex"],
            ),
            language=fields["language"],
            key=job_key(payload["key"]),
            accent=fields.get("accent"),
            sleep_time=_parse_when(fields.get("sleep_time")),
            wake_time=_parse_when(fields.get("wake_time")),
            recording_time=_parse_when(fields.get("recording_time")),
            tags=[(name, value) for name, value in fields["tags"]] if fields.get("tags") else None,
            delete_data=bool(fields.get("delete_data", False)),
            data_to_delete=fields.get("data_to_delete"),
            deadline=fields.get("deadline"),
            check_duration=bool(fields.get("check_duration", True)),
        )
        raw_row = payload.get("row")
        row = (
            RowInfo(line=raw_row["line"], row_hash=raw_row["row_hash"], cells=raw_row["cells"])
            if raw_row is not None
            else None
        )
        return FleetJob(batch=payload["batch"], key=job.key, job=job, row=row)
    except InvalidInputError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidInputError("payload", f"not a fleet job: {type(exc).__name__}") from None


def _check_version(version: object) -> None:
    if version != VERSION:
        raise InvalidInputError("payload", f"version {version!r} is not {VERSION}")


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _tags(tags: object) -> list[list[str]] | None:
    if tags is None:
        return None
    if isinstance(tags, Mapping):
        return [[str(name), str(value)] for name, value in tags.items()]
    pairs: list[list[str]] = []
    for item in tags:  # type: ignore[attr-defined]
        if isinstance(item, Tag):
            pairs.append([item.name, item.value])
        else:
            name, value = item
            pairs.append([str(name), str(value)])
    return pairs
