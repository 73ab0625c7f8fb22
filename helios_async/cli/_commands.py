"""The ``helios-async`` program: parse, run the command, turn its errors into exit statuses.

Errors print one line on stderr and exit non-zero: 2 for input refused locally, 1 otherwise,
130 when interrupted by Ctrl-C and 143 by SIGTERM (``check`` and ``get --wait``: see
``_one_check``). ``batch`` adds 3 (some rows failed); see ``_batch``. The parser is
``_parser``'s. Only ``batch`` needs ``rich`` (the ``cli`` extra); it is imported when that
command runs, and without it the command says how to install it and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from helios_async import HeliosError, InvalidInputError, ModelRunFailedError
from helios_async._logs import enable as enable_logging
from helios_async._logs import verbosity_level

from ._args import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, UsageError, refuse_conflicts
from ._fleet import run_fleet
from ._one_check import check_command, get_command, print_interrupted
from ._output import error_fields
from ._parser import build_parser
from ._serve import sandbox_command
from ._streams import EXIT_BROKEN_PIPE, drop_stdout, forgiving_streams
from ._tables import format_account
from ._target import command_client

__all__ = ["main"]

NEEDS_RICH = "helios-async: the batch command needs rich: pip install 'helios-async[cli]'"


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "sandbox":
        return await sandbox_command(args, out)
    if args.command == "batch":
        try:
            from ._batch import batch_command
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] != "rich":
                raise
            print(NEEDS_RICH, file=sys.stderr)
            return EXIT_FAILED
        return await batch_command(args, out)
    if args.command == "fleet":
        return await run_fleet(args, out)
    if args.command == "demo":
        from helios_async.testing import sample_recording

        args.sandbox, args.base_url, args.region = True, None, None
        args.file, args.check_duration, args.deadline = sample_recording(), True, 60.0
        args.user_label, args.date_of_birth = "demo-user-0001", dt.date(1990, 8, 24)
        args.birth_sex, args.language = "FEMALE", "en-GB"
        if not args.json:
            print(f"Starting a local Helios sandbox; checking {args.file.name} ...\n", file=out)
    if args.command in ("demo", "check"):
        return await check_command(args, out)
    if args.command == "get":
        return await get_command(args, out)
    async with command_client(args) as client:
        account = await client.get_account()
    if args.json:
        print(json.dumps(dict(account.raw), indent=2), file=out)
    else:
        print(format_account(account), file=out)
    return 0


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status.

    stdout and stderr escape what they cannot encode; a closed stdout pipe ends the command
    quietly with status 1 (see ``_streams``).
    """
    stream: TextIO = out if out is not None else sys.stdout
    words = list(sys.argv[1:] if argv is None else argv)
    with forgiving_streams():
        try:
            try:
                parser = build_parser()
                args = parser.parse_args(words)
                refuse_conflicts(parser, args)
            except UsageError as exc:
                if _wants_json(words):
                    _print_json_error(exc.field, "UsageError", exc.message, stream)
                    stream.flush()
                raise
            status = _main(args, stream)
            stream.flush()
        except BrokenPipeError:
            drop_stdout()
            return EXIT_BROKEN_PIPE
    return status


def _main(args: argparse.Namespace, out: TextIO) -> int:
    level = verbosity_level(args.verbose)
    if level is not None:
        enable_logging(level)
    try:
        return asyncio.run(_run(args, out))
    except KeyboardInterrupt:
        answered = getattr(args, "interrupted_status", None)
        if answered is not None:  # a second signal after the command said how it stopped
            return int(answered)
        # before a command caught the signal: nothing to pick up
        if getattr(args, "json", False):
            print_interrupted(out, "Ctrl-C")
        print("helios-async: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except InvalidInputError as exc:
        _print_error(args, exc, out)
        print(
            f"helios-async: refused before sending anything: {_cli_message(args, exc)}",
            file=sys.stderr,
        )
        return EXIT_INVALID
    except ModelRunFailedError as exc:
        print(f"helios-async: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except HeliosError as exc:
        _print_error(args, exc, out)
        print(f"helios-async: {type(exc).__name__}: {_cli_text(exc)}", file=sys.stderr)
        return EXIT_FAILED


def _wants_json(words: list[str]) -> bool:
    """Whether a command line argparse refused asked for ``--json`` (before any ``--``)."""
    before = words[: words.index("--")] if "--" in words else words
    return "--json" in before


def _print_json_error(field: str | None, kind: str, message: str, out: TextIO) -> None:
    fields = {"type": kind, "message": message, "code": None, "http_status": None}
    print(json.dumps({"error": {**fields, "field": field}}, indent=2), file=out)


def _print_error(args: argparse.Namespace, error: HeliosError, out: TextIO) -> None:
    """With ``--json``, stdout still gets a JSON document: ``{"error": {...}}``, the fields
    of ``batch``'s error objects (``type``, ``message``, ``code``, ``http_status``,
    ``field``, each always present)."""
    if getattr(args, "json", False):
        fields = {**error_fields(error), "message": _cli_text(error)}
        if isinstance(error, InvalidInputError):
            fields = {**fields, "message": _cli_message(args, error)}
        print(json.dumps({"error": fields}, indent=2), file=out)


# The library's pointers to an attribute, as a command-line user reads them.
_ATTRIBUTE_WORDING = (
    (" (its user label is on .user_label)", " (for the --user-label given)"),
    ("for this user label (.user_label)", "for this --user-label"),
    (".user_label", "the --user-label"),
)


def _cli_text(error: HeliosError) -> str:
    """An error's message, its pointers to Python attributes (``.user_label``) put in
    command-line terms: the label itself is not printed (labels stay out of messages)."""
    text = str(error)
    for library, cli in _ATTRIBUTE_WORDING:
        text = text.replace(library, cli)
    return text


def _cli_message(args: argparse.Namespace, error: InvalidInputError) -> str:
    """The library's message, with its ``api_key=...`` advice put in command-line terms."""
    if error.field == "api_key" and error.rule.startswith("no API key"):
        where = " (or pass --sandbox to use a local sandbox)" if hasattr(args, "sandbox") else ""
        return f"no API key: set the THYMIA_API_KEY environment variable{where}"
    return str(error)
