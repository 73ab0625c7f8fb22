"""The manifest rows a batch checks, read lazily: a repeated key refused, a bad row written
as such, and each row to do paired with its job and journal key."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from helios_async import InvalidInputError, WellnessJob

from ._batch_options import BatchOptions, to_run
from ._display import BatchDisplay, BatchStats
from ._manifest import KEY_COLUMN, Manifest, ManifestRow, row_to_job
from ._output import Recorded, ResultsFile, bad_row_record
from ._signals import DrainOnSignal

__all__ = ["rows_to_do", "unique_rows"]


def rows_to_do(
    manifest: Manifest,
    recorded: Recorded,
    results: ResultsFile,
    display: BatchDisplay,
    stats: BatchStats,
    stop: DrainOnSignal,
    options: BatchOptions,
) -> Iterator[tuple[ManifestRow, WellnessJob, str]]:
    """The rows still to do, lazily, with their jobs and journal keys; bad rows are written
    and reported here. A row's journal key is its identity and row hash, so an edited row
    is a new job."""
    for row, duplicate in unique_rows(manifest):
        if stop.draining:
            return
        status = recorded.status(row)
        if not to_run(status, options):
            continue
        if status == "changed":
            stats.changed += 1
            display.note(f"line {row.line}: changed since it was recorded; checking it again")
        try:
            job = _job(row, manifest, duplicate)
        except InvalidInputError as exc:
            results.write(bad_row_record(row, exc))
            stats.bad += 1
            display.note(f"line {row.line}: bad row, skipped: {exc}")
            display.advance()
            continue
        yield row, job, f"{row.identity}#{row.digest}"


def unique_rows(manifest: Manifest) -> Iterator[tuple[ManifestRow, InvalidInputError | None]]:
    """The manifest's rows, each with the error of a key that repeats an earlier row's; such a
    row loses its key cell, so it is known by its line and never taken for the first."""
    keys: dict[str, int] = {}  # key cell -> the line that has it
    for row in manifest.rows():
        if row.key is None or keys.setdefault(row.key, row.line) == row.line:
            yield row, None
            continue
        error = InvalidInputError("key", f"repeats the key of line {keys[row.key]}")
        cells = {name: text for name, text in row.cells.items() if name != KEY_COLUMN}
        yield attrs.evolve(row, cells=cells), error


def _job(row: ManifestRow, manifest: Manifest, duplicate: InvalidInputError | None) -> WellnessJob:
    if duplicate is not None:
        raise duplicate
    return row_to_job(row, manifest.folder)
