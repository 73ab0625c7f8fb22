"""The ``helios-async fleet`` parser: worker, submit, collect, status, unknown, forget.

Every command takes ``--redis URL`` (default: the ``HELIOS_REDIS_URL`` environment
variable) and ``--fleet NAME`` (default: ``HELIOS_FLEET``, else ``default``). Building the
parser imports nothing of the fleet; :func:`run_fleet` imports it when a command runs and,
without the ``fleet`` extra, says how to install it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ._args import EXIT_FAILED

__all__ = ["ENV_FLEET", "ENV_REDIS_URL", "add_fleet_parser", "run_fleet"]

ENV_REDIS_URL = "HELIOS_REDIS_URL"
ENV_FLEET = "HELIOS_FLEET"
NEEDS_FLEET = "helios-async: fleet commands need the fleet extra: pip install 'helios-async[fleet]'"


def add_fleet_parser(commands: Any) -> None:
    """Register ``fleet`` and its subcommands on the CLI's subparsers."""
    fleet = commands.add_parser(
        "fleet",
        help="run wellness checks on a fleet of workers (Docket on Redis)",
        description="Run wellness checks on a fleet of worker processes sharing one Redis.",
    )
    sub = fleet.add_subparsers(dest="fleet_command", required=True, metavar="SUBCOMMAND")

    worker = sub.add_parser("worker", help="run a worker until SIGTERM (which drains)")
    _common(worker)
    worker.add_argument("--concurrency", type=_positive, default=10, help="checks at once")
    worker.add_argument(
        "--redelivery-timeout",
        type=_seconds,
        default=30.0,
        help="seconds before a dead worker's jobs go to another worker (default 30)",
    )
    worker.add_argument(
        "--creates-per-minute", type=_positive, help="fleet-wide cap (give every worker the same)"
    )
    worker.add_argument(
        "--max-in-flight", type=_positive, help="fleet-wide checks at once (same on every worker)"
    )
    worker.add_argument("--poll-interval", type=_seconds, help="seconds between polls of a run")
    worker.add_argument("--base-url", help="API root (default: THYMIA_BASE_URL or the region's)")
    worker.add_argument("--region", choices=["default", "ca", "us"], help="API region")

    submit = sub.add_parser("submit", help="queue a CSV manifest's rows as a batch (resumable)")
    submit.add_argument("manifest", type=Path, help="the CSV manifest (the columns of batch)")
    submit.add_argument("--batch", required=True, help="the batch's name")
    submit.add_argument(
        "--max-pending", type=_positive, default=1000, help="jobs queued or running at once"
    )
    submit.add_argument("--deadline", type=_seconds, help="seconds allowed for each check")
    _common(submit)

    collect = sub.add_parser("collect", help="write a batch's results as JSON Lines")
    collect.add_argument("batch", help="the batch's name")
    collect.add_argument("--out", required=True, type=Path, help="the JSON Lines file (appended)")
    collect.add_argument(
        "--follow", action="store_true", help="keep collecting until the batch is complete"
    )
    _common(collect)

    status = sub.add_parser("status", help="a batch's counts per state and its rate")
    status.add_argument("batch", help="the batch's name")
    status.add_argument("--watch", action="store_true", help="redraw until the batch completes")
    status.add_argument("--interval", type=_seconds, default=2.0, help="seconds between redraws")
    _common(status)

    unknown = sub.add_parser("unknown", help="list the creates whose outcome is unknown")
    unknown.add_argument("batch", help="the batch's name")
    _common(unknown)

    forget = sub.add_parser("forget", help="delete a batch's state, results and journal")
    forget.add_argument("batch", help="the batch's name")
    forget.add_argument(
        "--force", action="store_true", help="even while jobs are pending or results uncollected"
    )
    _common(forget)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis",
        default=os.environ.get(ENV_REDIS_URL),
        help=f"the Redis URL (default: {ENV_REDIS_URL}); redis://, rediss:// or memory://",
    )
    parser.add_argument(
        "--fleet",
        default=os.environ.get(ENV_FLEET, "default"),
        help=f"the fleet's name (default: {ENV_FLEET}, else 'default')",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number above 0: {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds above 0: {text!r}")
    return value


async def run_fleet(args: argparse.Namespace, out: TextIO) -> int:
    """Run the parsed fleet command; exit 1 with a hint if the fleet extra is missing."""
    try:
        from helios_async.fleet._commands import fleet_command
    except ImportError as exc:
        if "fleet extra" not in str(exc) and (exc.name or "").partition(".")[0] != "docket":
            raise
        print(NEEDS_FLEET, file=sys.stderr)
        return EXIT_FAILED
    return await fleet_command(args, out)
