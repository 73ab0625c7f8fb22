"""The batch command's manifest: a CSV file with one wellness check per row (issue 4).

The header names the columns, in any order, case-insensitively:

- required: ``recording``, ``user_label``, ``date_of_birth`` (``YYYY-MM-DD``),
  ``birth_sex`` (``MALE``, ``FEMALE``, ``INTERSEX``, ``UNKNOWN``), ``language`` (``en-GB``);
- optional, the other create fields (docs/helios.md#request-fields): ``accent``,
  ``sleep_time``, ``wake_time``, ``recording_time`` (naive ISO datetimes,
  ``2026-03-26T09:30:00``), ``tags`` (``name=value;name=value``), ``delete_data``
  (``true``/``false``, ``yes``/``no``, ``1``/``0``), ``data_to_delete`` (``a;b``).

A cell holds at most 131072 characters (``MAX_CELL``): a row with a longer one is a bad row.
An optional ``key`` column gives each row a stable identity of your choosing (unique in the
manifest, at most 200 characters): a resumed batch then knows its rows by key, not by line,
so rows may be reordered, inserted or removed between runs. It is not sent.

Other columns are kept in the output but not sent. An empty cell means the field is absent.
A relative ``recording`` path is taken from the manifest's folder. Rows are read lazily, one
at a time; each is known by its line number (where it starts in the file) and a hash of its
cells, so a resumed batch notices a row edited since it was recorded.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

import attrs

from helios_async import CreateFields, InvalidInputError, ModelRunRequest, User, WellnessJob
from helios_async._redaction import hidden

from ._args import parse_date

__all__ = [
    "KEY_COLUMN",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Manifest",
    "ManifestRow",
    "create_fields",
    "row_to_job",
]

REQUIRED_COLUMNS = ("recording", "user_label", "date_of_birth", "birth_sex", "language")
OPTIONAL_COLUMNS = (
    "accent",
    "sleep_time",
    "wake_time",
    "recording_time",
    "tags",
    "delete_data",
    "data_to_delete",
)
KEY_COLUMN = "key"
MAX_KEY_LENGTH = 200
MAX_CELL = 131_072
"""The longest cell a row may have, in characters (csv's default field limit); a row with a
longer one is a bad row."""
_READ_LIMIT = 16 * 1024 * 1024  # characters of one cell read at most, to report its row
_HAS_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


@attrs.frozen(kw_only=True)
class ManifestRow:
    """One data row: ``line`` (1-based, where the row starts), ``digest`` (16 hex digits of a
    SHA-256 of its cells), ``cells`` (column name to the text as written, stripped) and
    ``error`` (why the row cannot be read as cells at all, else None). The repr hides the
    cells, which hold the person's label, date of birth and tags."""

    line: int
    digest: str
    cells: Mapping[str, str] = attrs.field(repr=hidden)  # labels, dates of birth, tags
    error: str | None = None

    @property
    def key(self) -> str | None:
        """The row's ``key`` cell, or None where there is no key column or the cell is empty."""
        return self.cells.get(KEY_COLUMN) or None

    @property
    def identity(self) -> str:
        """How a resumed batch knows the row: ``key:<key>``, else ``line:<line>``."""
        key = self.key
        return f"key:{key}" if key is not None else f"line:{self.line}"


class Manifest:
    """A manifest file, its header checked on opening.

    Raises:
        InvalidInputError: the file cannot be read, is empty, or its header lacks a required
            column or names one twice.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = path.resolve().parent
        try:
            with self._open() as stream:
                header = next(csv.reader(stream), None)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InvalidInputError("manifest", _unreadable(path, exc)) from exc
        if not header:
            raise InvalidInputError("manifest", f"{path} is empty: it needs a header row")
        self.columns = tuple(name.strip().lower() for name in header)
        missing = [name for name in REQUIRED_COLUMNS if name not in self.columns]
        if missing:
            hint = ""
            if any(";" in name for name in self.columns):
                hint = "; it looks ';'-separated: a manifest's cells are separated by commas"
            raise InvalidInputError(
                "manifest",
                f"the header of {path} lacks {', '.join(missing)} "
                f"(required: {','.join(REQUIRED_COLUMNS)}){hint}",
            )
        twice = sorted({name for name in self.columns if self.columns.count(name) > 1})
        if twice:
            raise InvalidInputError("manifest", f"the header of {path} repeats {', '.join(twice)}")
        known = {*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, KEY_COLUMN}
        self.unknown_columns = tuple(name for name in self.columns if name not in known)

    def _open(self) -> TextIO:
        return self.path.open(newline="", encoding="utf-8-sig")

    def rows(self) -> Iterator[ManifestRow]:
        """The data rows, read lazily; blank lines are skipped.

        Raises:
            InvalidInputError: the file stopped being readable as CSV text part way.
        """
        # Cells up to _READ_LIMIT are read, so a row with one over MAX_CELL is a bad row with
        # its line number, not the end of the batch (csv's own limit is MAX_CELL).
        limit = csv.field_size_limit(_READ_LIMIT)
        ended = 1
        try:
            with self._open() as stream:
                reader = csv.reader(stream)
                next(reader, None)  # the header
                ended = reader.line_num
                for fields in reader:
                    line, ended = ended + 1, reader.line_num
                    if not fields:
                        continue
                    yield self._row(line, fields)
        except csv.Error as exc:
            where = f"{self.path}, line {ended + 1}"
            raise InvalidInputError("manifest", _unreadable(where, exc)) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError("manifest", _unreadable(self.path, exc)) from exc
        finally:
            csv.field_size_limit(limit)

    def _row(self, line: int, fields: list[str]) -> ManifestRow:
        error = None
        cells = {name: value.strip() for name, value in zip(self.columns, fields, strict=False)}
        if len(fields) != len(self.columns):
            error = f"has {len(fields)} fields but the header has {len(self.columns)}"
        elif len(cells.get(KEY_COLUMN, "")) > MAX_KEY_LENGTH:
            error = f"its key is longer than {MAX_KEY_LENGTH} characters"
        elif long := [name for name, text in cells.items() if len(text) > MAX_CELL]:
            error = f"its {long[0]} cell is longer than {MAX_CELL} characters"
            cells = {name: text[:MAX_CELL] for name, text in cells.items()}
        return ManifestRow(line=line, digest=row_digest(fields), cells=cells, error=error)


def _unreadable(where: object, error: Exception) -> str:
    hint = "; save it as UTF-8 (in Excel: CSV UTF-8)" if isinstance(error, UnicodeError) else ""
    return f"cannot read {where}: {error}{hint}"


def row_digest(fields: list[str]) -> str:
    """16 hex digits of the SHA-256 of a row's cells as written (order and spacing count)."""
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def row_to_job(row: ManifestRow, folder: Path) -> WellnessJob:
    """The :class:`WellnessJob` of a row, every field checked as the API would.

    The job's ``key`` is the row. A relative recording path is taken from ``folder``.

    Raises:
        InvalidInputError: a cell breaks its field's rule; the message names the column.
    """
    if row.error is not None:
        raise InvalidInputError("row", row.error)
    cells = row.cells
    recording = cells["recording"]
    if not recording:
        raise InvalidInputError("recording", "is empty")
    path = Path(recording).expanduser()
    if not path.is_absolute():
        path = folder / path
    user = User(
        user_label=cells["user_label"],
        date_of_birth=_date("date_of_birth", cells["date_of_birth"]),
        birth_sex=cells["birth_sex"],
    )
    job = WellnessJob(
        recording=path, user=user, language=cells["language"], key=row, **create_fields(cells)
    )
    ModelRunRequest(user=user, language=job.language, **job.create_fields())  # checks all now
    return job


def create_fields(cells: Mapping[str, str]) -> CreateFields:
    """The optional create fields (``OPTIONAL_COLUMNS``) from their texts as a manifest writes
    them; a missing or empty text leaves the field out. ``check``'s options use this too.

    * ``accent``: as written;
    * ``sleep_time``, ``wake_time``, ``recording_time``: naive ISO datetimes with a time
      (``2026-03-26T09:30:00``; a bare date is refused, not taken for midnight);
    * ``tags``: ``name=value;name=value`` (names unique);
    * ``delete_data``: ``true``/``yes``/``y``/``1`` or ``false``/``no``/``n``/``0``;
    * ``data_to_delete``: items separated by ``;``, only with ``delete_data`` true.

    Raises:
        InvalidInputError: a text breaks its field's rule; the error names the column.
    """
    fields: CreateFields = {}
    if cells.get("accent"):
        fields["accent"] = cells["accent"]
    if cells.get("sleep_time"):
        fields["sleep_time"] = _datetime("sleep_time", cells["sleep_time"])
    if cells.get("wake_time"):
        fields["wake_time"] = _datetime("wake_time", cells["wake_time"])
    if cells.get("recording_time"):
        fields["recording_time"] = _datetime("recording_time", cells["recording_time"])
    tags = _tags(cells.get("tags", ""))
    if tags is not None:
        fields["tags"] = tags
    if _bool("delete_data", cells.get("delete_data", "")):
        fields["delete_data"] = True
    data_to_delete = _list(cells.get("data_to_delete", ""))
    if data_to_delete is not None:
        if not fields.get("delete_data"):
            raise InvalidInputError(
                "data_to_delete", "goes with delete_data: set it true, or leave this empty"
            )
        fields["data_to_delete"] = data_to_delete
    return fields


def _date(column: str, text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError:
        # The text is not echoed: a date of birth is personal data (and ends up in the output).
        raise InvalidInputError(column, "must be a YYYY-MM-DD date such as 1990-08-24") from None


def _datetime(column: str, text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text) if _HAS_TIME.match(text) else None
    except ValueError:
        value = None
    if value is None:  # a bare date is not taken for midnight
        raise InvalidInputError(
            column,
            f"must be a naive ISO date and time such as 2026-03-26T09:30:00; got {text!r}",
        )
    return value


def _tags(text: str) -> dict[str, str] | None:
    if not text:
        return None
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, equals, value = part.partition("=")
        if not equals or not name.strip():
            raise InvalidInputError("tags", f"must be name=value;name=value; got {part!r}")
        if name.strip() in tags:
            raise InvalidInputError("tags", f"names must be unique; {name.strip()!r} repeats")
        tags[name.strip()] = value.strip()
    return tags


def _bool(column: str, text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInputError(column, f"must be true or false; got {text!r}")


def _list(text: str) -> tuple[str, ...] | None:
    items = tuple(item.strip() for item in text.split(";") if item.strip())
    return items or None
