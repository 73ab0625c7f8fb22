"""The batch command's options: what they hold, what is refused before anything is written,
and which rows an earlier run's output (``--resume``) leaves to do."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import attrs

from helios_async import InvalidInputError

from ._args import DEFAULT_CONCURRENCY
from ._csv_output import csv_columns
from ._manifest import Manifest
from ._output import FORMATS, Recorded, load_recorded

__all__ = [
    "BatchOptions",
    "check_options",
    "journal_path",
    "options_from",
    "output_format",
    "recorded_before",
    "to_run",
]


@attrs.frozen(kw_only=True)
class BatchOptions:
    """The batch command's arguments. ``deadline`` is seconds per check; ``sandbox_delay``
    the embedded sandbox's processing delay in seconds."""

    manifest: Path
    out: Path
    concurrency: int = DEFAULT_CONCURRENCY
    resume: bool = False
    retry_unknown: bool = False
    sandbox: bool = False
    sandbox_delay: float = 0.5
    base_url: str | None = None
    region: str | None = None
    deadline: float | None = None
    check_duration: bool = True
    progress: bool = True
    format: str = "jsonl"


def journal_path(out: Path) -> Path:
    """The run journal of an output: beside it, its name plus ``.journal``."""
    return out.with_name(out.name + ".journal")


def options_from(args: argparse.Namespace) -> BatchOptions:
    """The options of a parsed ``helios-async batch`` command line."""
    return BatchOptions(
        manifest=args.manifest,
        out=args.out,
        concurrency=args.concurrency,
        resume=args.resume,
        retry_unknown=args.retry_unknown,
        sandbox=args.sandbox,
        sandbox_delay=args.sandbox_delay,
        base_url=args.base_url,
        region=args.region,
        deadline=args.deadline,
        check_duration=args.check_duration,
        progress=args.progress,
        format=args.format or output_format(args.out),
    )


def output_format(out: Path) -> str:
    """The format an ``--out`` without ``--format`` gets: ``csv`` for a name ending ``.csv``
    (any case), else ``jsonl``."""
    return "csv" if out.suffix.lower() == ".csv" else "jsonl"


def to_run(status: str, options: BatchOptions) -> bool:
    """Whether a row recorded as ``status`` (``Recorded.status``) is checked this time."""
    return status not in ("done", "unknown") or (status == "unknown" and options.retry_unknown)


def check_options(options: BatchOptions) -> None:
    """Refuse what would fail later, before the output is created or anything printed.

    Raises:
        InvalidInputError: ``concurrency`` below 1; ``out`` is a directory, not writable, or
            in a folder that does not exist or cannot be written; an unknown ``format``.
    """
    if options.concurrency < 1:
        raise InvalidInputError(
            "--concurrency", f"must be 1 or more checks at once; got {options.concurrency}"
        )
    if options.format not in FORMATS:
        raise InvalidInputError("--format", f"must be one of {', '.join(FORMATS)}")
    out = options.out
    if out.is_dir():
        raise InvalidInputError("--out", f"{out} is a directory; name a file in it")
    if out.exists():
        if not out.is_file() or not os.access(out, os.W_OK):
            raise InvalidInputError("--out", f"{out} cannot be written")
        return
    folder = out.absolute().parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise InvalidInputError("--out", f"{out} cannot be created: {folder} {problem}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInputError("--out", f"{out} cannot be created: {folder} is not writable")


def recorded_before(options: BatchOptions, manifest: Manifest) -> Recorded:
    """What the output already holds (``--resume``), or nothing; refuses to write over an
    output or a journal without ``--resume``.

    Raises:
        InvalidInputError: ``out`` or its journal exists and ``resume`` is off.
    """
    exists = options.out.exists() and options.out.stat().st_size > 0
    journal = journal_path(options.out)
    if options.resume:
        if not exists:
            return Recorded(digests={})
        columns = csv_columns(manifest.columns) if options.format == "csv" else None
        return load_recorded(options.out, csv_columns=columns)
    if exists:
        raise InvalidInputError(
            "--out", f"{options.out} exists: pass --resume to carry it on, or choose another file"
        )
    if journal.exists() and journal.stat().st_size > 0:
        raise InvalidInputError(
            "--out", f"{journal} exists: pass --resume to carry its runs on, or remove it"
        )
    return Recorded(digests={})
