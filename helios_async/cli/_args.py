"""Argument types, options and exit codes shared by the ``helios-async`` commands."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import sys
from typing import NoReturn

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_SOME_FAILED = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
BATCH_EXIT_CODES = {
    EXIT_OK: "every row checked in this run ended COMPLETE_OK",
    EXIT_FAILED: "the batch could not go on (the output cannot be written, an unexpected error)",
    EXIT_INVALID: "nothing was run: bad arguments, an unusable manifest header, an output that "
    "exists without --resume, or no API key",
    EXIT_SOME_FAILED: "the batch ran to the end but some rows failed or were bad (see the output)",
    EXIT_INTERRUPTED: "stopped by Ctrl-C; the output is valid: rerun with --resume",
    EXIT_TERMINATED: "stopped by SIGTERM; the output is valid: rerun with --resume",
}
"""What each exit status of ``helios-async batch`` means (the other commands use 0, 1, 2
and 130 alike)."""
DEFAULT_CONCURRENCY = 10
"""Checks at once in ``batch`` unless ``--concurrency`` says otherwise (the library's default
for ``HeliosClient.run_wellness_checks`` too)."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HAS_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


_ARGUMENT = re.compile(r"argument ([^\s:/]+)")


class UsageError(SystemExit):
    """A command line argparse refused: exit status 2, its one line already on stderr.

    ``message`` is argparse's; ``field`` the option it names (``--deadline``), or None.
    """

    def __init__(self, message: str) -> None:
        super().__init__(EXIT_INVALID)
        self.message = message
        named = _ARGUMENT.match(message)
        self.field = named.group(1) if named is not None else None


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, like every other error here
    (raised as :class:`UsageError`, so ``--json`` can answer with an error object too)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see --help)", file=sys.stderr)
        raise UsageError(message)


def parse_date(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` date, strictly (``fromisoformat`` alone would take ``19900824``).

    Raises:
        ValueError: any other spelling, or no such day.
    """
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return dt.date.fromisoformat(text)


def date_arg(text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError:  # the text is not echoed: a date of birth is personal data
        raise argparse.ArgumentTypeError("not a YYYY-MM-DD date (such as 1990-08-24)") from None


def datetime_arg(text: str) -> str:
    """A naive ISO datetime with its time (``2026-03-26T09:30:00``), kept as written for
    ``_manifest.create_fields``; a bare date is refused, not taken for midnight."""
    if not _HAS_TIME.match(text):
        raise argparse.ArgumentTypeError(
            f"not a date and time such as 2026-03-26T09:30:00: {text!r}"
        )
    return text


def seconds_arg(text: str) -> float:
    """A finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds above 0: {text!r}")
    return value


def delay_arg(text: str) -> float:
    """A finite number of seconds, zero or more."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds, 0 or more: {text!r}")
    return value


def add_check_options(parser: argparse.ArgumentParser, *, per: str) -> None:
    """``--deadline`` (seconds for ``per``) and ``--no-preflight`` (skip the local checks)."""
    parser.add_argument(
        "--deadline", type=seconds_arg, default=None, help=f"seconds allowed for {per}"
    )
    parser.add_argument(
        "--no-preflight",
        dest="check_duration",
        action="store_false",
        help="skip the local duration and truncation checks; let the API judge the recording",
    )


def add_create_options(parser: argparse.ArgumentParser) -> None:
    """The optional create fields, as options taking the texts a batch manifest's cells hold
    (``_manifest.create_fields`` reads both): ``--accent``, ``--tag`` (repeatable, each
    ``name=value`` or several joined by ``;``), ``--sleep-time``, ``--wake-time``,
    ``--recording-time`` (naive ISO datetimes), ``--delete-data`` and ``--data-to-delete``
    (repeatable, or ``;``-separated)."""
    fields = parser.add_argument_group("optional create fields (as in a batch manifest)")
    fields.add_argument("--accent", help="the speaker's accent, free text")
    fields.add_argument(
        "--tag",
        "--tags",
        dest="tags",
        action="append",
        metavar="NAME=VALUE",
        help="a tag; repeat, or join several with ';' as in a manifest",
    )
    for name in ("sleep", "wake", "recording"):
        fields.add_argument(
            f"--{name}-time",
            metavar="DATETIME",
            type=datetime_arg,
            help=f"local {name} time, naive ISO such as 2026-03-26T09:30:00",
        )
    fields.add_argument(
        "--delete-data", action="store_true", help="delete the run's data 12 h after it completes"
    )
    fields.add_argument(
        "--data-to-delete",
        action="append",
        metavar="ITEM",
        help="with --delete-data: what it deletes; repeat, or join several with ';'",
    )


def create_cells(args: argparse.Namespace) -> dict[str, str]:
    """The create options of ``args`` as a manifest row's cells (column name to text)."""

    def text(name: str) -> str:
        value = getattr(args, name, None)
        return str(value) if value else ""

    return {
        "accent": text("accent"),
        "sleep_time": text("sleep_time"),
        "wake_time": text("wake_time"),
        "recording_time": text("recording_time"),
        "tags": ";".join(getattr(args, "tags", None) or []),
        "delete_data": "true" if getattr(args, "delete_data", False) else "",
        "data_to_delete": ";".join(getattr(args, "data_to_delete", None) or []),
    }


def add_verbose(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``-v``/``--verbose``: the ``helios_async`` log on stderr, info (``-v``) or debug
    (``-vv``); taken before or after the command's name."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        # Only the top-level parser sets a default, so a command without -v keeps its count.
        default=0 if top else argparse.SUPPRESS,
        help="log what the client does to stderr (-v: info, -vv: debug)",
    )


def add_target(parser: argparse.ArgumentParser, *, sandbox: bool = True) -> None:
    """``--base-url`` and ``--region``, and ``--sandbox`` where it makes sense."""
    parser.add_argument("--base-url", help="API root (default: THYMIA_BASE_URL or the region's)")
    parser.add_argument("--region", choices=["default", "ca", "us"], help="API region")
    if sandbox:
        parser.add_argument(
            "--sandbox",
            action="store_true",
            help="use an embedded local sandbox, not the real API (THYMIA_API_KEY, "
            "THYMIA_BASE_URL and THYMIA_REGION are then ignored; not with --base-url or --region)",
        )


def refuse_conflicts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Options that make no sense together, refused as usage errors (exit 2) rather than
    silently ignored: ``--sandbox`` with ``--base-url`` or ``--region``, ``--timeout``
    without ``--wait``, ``--data-to-delete`` without ``--delete-data``."""
    if getattr(args, "sandbox", False):
        for option in ("base_url", "region"):
            if getattr(args, option, None) is not None:
                name = "--" + option.replace("_", "-")
                parser.error(f"argument {name}: not allowed with --sandbox")
    if getattr(args, "timeout", None) is not None and not getattr(args, "wait", True):
        parser.error("argument --timeout: goes with --wait")
    if getattr(args, "data_to_delete", None) and not getattr(args, "delete_data", False):
        parser.error("argument --data-to-delete: goes with --delete-data")
