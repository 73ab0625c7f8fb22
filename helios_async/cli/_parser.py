"""The ``helios-async`` argument parser: demo, check, get, account, batch, fleet, sandbox.

Building it imports no command's machinery (no ``rich``, no sandbox, no fleet): the commands
themselves load what they need when they run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from helios_async import BirthSex, __version__

from ._args import (
    BATCH_EXIT_CODES,
    DEFAULT_CONCURRENCY,
    Parser,
    add_check_options,
    add_create_options,
    add_target,
    add_verbose,
    date_arg,
    delay_arg,
    seconds_arg,
)
from ._fleet import add_fleet_parser
from ._manifest import REQUIRED_COLUMNS
from ._serve import add_sandbox_parser

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The whole ``helios-async`` parser: every command, its options and its help."""
    parser = Parser(
        prog="helios-async",
        description="Score mental wellness from a voice recording with thymia's Helios API.",
    )
    parser.add_argument("--version", action="version", version=f"helios-async {__version__}")
    add_verbose(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run a wellness check on a bundled recording against the local sandbox"
    )
    demo.add_argument("--json", action="store_true", help="print the run as the API's JSON")

    check = commands.add_parser("check", help="run a wellness check on a recording")
    check.add_argument(
        "file", type=Path, help="the recording: FLAC, MP3, MP4, Ogg, WebM or WAV; - for stdin"
    )
    check.add_argument("--user-label", required=True, help="your id for the person, 1-50 chars")
    check.add_argument(
        "--date-of-birth", required=True, type=date_arg, help="YYYY-MM-DD (use 01 where unknown)"
    )
    check.add_argument(
        "--birth-sex", required=True, type=str.upper, choices=[s.value for s in BirthSex]
    )
    check.add_argument("--language", required=True, help="language code such as en-GB")
    add_create_options(check)
    add_check_options(check, per="the whole check")
    add_target(check)
    check.add_argument("--json", action="store_true", help="print the run as the API's JSON")

    get = commands.add_parser("get", help="show a model run by id")
    get.add_argument("run_id")
    get.add_argument(
        "--wait",
        action="store_true",
        help="wait until the run finishes (status changes on stderr); exit 1 if it failed",
    )
    get.add_argument(
        "--timeout",
        type=seconds_arg,
        default=None,
        help="with --wait: seconds to wait at most (default 600)",
    )
    add_target(get, sandbox=False)
    get.add_argument("--json", action="store_true", help="print the run as the API's JSON")

    account = commands.add_parser("account", help="show the account behind the API key")
    add_target(account)
    account.add_argument("--json", action="store_true", help="print the account as the API's JSON")
    _add_batch_parser(commands)
    add_fleet_parser(commands)
    add_sandbox_parser(commands)
    for command in commands.choices.values():
        add_verbose(command)
    return parser


def _add_batch_parser(commands: Any) -> None:
    codes = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in BATCH_EXIT_CODES.items())
    batch = commands.add_parser(
        "batch",
        help="run a wellness check for every row of a CSV manifest, resumably",
        description=(
            "Run a wellness check for every row of MANIFEST (CSV with the header "
            f"{','.join(REQUIRED_COLUMNS)}, plus optional accent, sleep_time, wake_time, "
            "recording_time, tags as name=value;name=value, delete_data, data_to_delete, and "
            "key: a unique id per row). Each finished row appends one JSON line to --out; "
            "every run is journaled in --out plus .journal before its recording is uploaded, "
            "so --resume never creates a run twice, whatever stopped the batch."
        ),
        epilog=f"exit codes:\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("manifest", type=Path, help="the CSV manifest")
    batch.add_argument("--out", required=True, type=Path, help="the output file")
    batch.add_argument(
        "--format",
        choices=["jsonl", "csv"],
        default=None,
        help="jsonl: one JSON object a line; csv: one flat row a check (default: csv for an "
        "--out ending .csv, else jsonl)",
    )
    batch.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"checks at once (default {DEFAULT_CONCURRENCY})",
    )
    batch.add_argument(
        "--resume",
        action="store_true",
        help="skip rows already in --out (by key or line, and row hash); pick up the runs "
        "in its journal (--out plus .journal)",
    )
    batch.add_argument(
        "--retry-unknown",
        action="store_true",
        help="with --resume: check again the rows whose create's outcome is unknown (a run "
        "may exist for them: only once you have checked)",
    )
    add_check_options(batch, per="each check")
    batch.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress display"
    )
    add_target(batch)
    batch.add_argument(
        "--sandbox-delay",
        type=delay_arg,
        default=0.5,
        help="with --sandbox: seconds each run takes to process (default 0.5)",
    )
