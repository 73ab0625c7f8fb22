"""The ``helios-async`` command tree: demo, check, get, account, batch, fleet, sandbox.

Errors print one line on stderr and exit non-zero: 2 for input refused locally, 1 otherwise,
130 when interrupted. ``batch`` adds 3 (some rows failed) and 143 (SIGTERM); see ``_batch``.
Only ``batch`` needs ``rich`` (the ``cli`` extra); it is imported when that command runs, and
without it the command says how to install it and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import sys
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any, TextIO

from helios_async import (
    Account,
    BirthSex,
    HeliosClient,
    HeliosError,
    Hooks,
    InvalidInputError,
    ModelRun,
    ModelRunCreated,
    ModelRunFailedError,
    ModelRunStatus,
    PollPolicy,
    User,
    __version__,
)
from helios_async._logs import enable as enable_logging
from helios_async._logs import verbosity_level
from helios_async._models import BUCKETED_SCORES

from ._args import (
    BATCH_EXIT_CODES,
    DEFAULT_CONCURRENCY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    Parser,
    add_check_options,
    add_create_options,
    add_target,
    add_verbose,
    create_cells,
    date_arg,
    delay_arg,
    seconds_arg,
)
from ._fleet import add_fleet_parser, run_fleet
from ._manifest import REQUIRED_COLUMNS, create_fields
from ._output import error_fields
from ._serve import add_sandbox_parser, sandbox_command
from ._signals import CancelOnSignal, catching_signals, exit_status
from ._streams import (
    EXIT_BROKEN_PIPE,
    drop_stdout,
    forgiving_streams,
    read_stdin_recording,
)

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_INVALID", "build_parser", "main"]

NEEDS_RICH = "helios-async: the batch command needs rich: pip install 'helios-async[cli]'"
_BAR = 20


def build_parser() -> argparse.ArgumentParser:
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
        default="jsonl",
        help="jsonl: one JSON object a line (default); csv: one flat row a check",
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


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace, **options: Any) -> AsyncGenerator[HeliosClient, None]:
    """A client on the real API, or on an embedded sandbox when ``--sandbox`` is given."""
    if getattr(args, "sandbox", False):
        from helios_async.testing import Sandbox

        async with (
            Sandbox(processing_delay=options.pop("processing_delay", 0.5)) as sandbox,
            HeliosClient(sandbox.api_key, base_url=sandbox.base_url, **options) as client,
        ):
            yield client
    else:
        options.pop("processing_delay", None)
        async with HeliosClient(base_url=args.base_url, region=args.region, **options) as client:
            yield client


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
        return await _check(args, out)
    if args.command == "get":
        return await _get(args, out)
    async with _client(args) as client:
        account = await client.get_account()
    if args.json:
        print(json.dumps(dict(account.raw), indent=2), file=out)
    else:
        print(format_account(account), file=out)
    return 0


class _Progress:
    """``created model run <id>`` and each status change after it, on stderr, at once."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self._status: ModelRunStatus | None = None

    def created(self, created: ModelRunCreated) -> None:
        self.run_id, self._status = created.id, ModelRunStatus.CREATED
        _say(f"created model run {created.id}")

    def seen(self, run: ModelRun) -> None:
        self.run_id = run.id
        if run.status != self._status:
            self._status = run.status
            _say(f"model run {run.id}: {run.status.value}")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _check(args: argparse.Namespace, out: TextIO) -> int:
    """``check`` (and ``demo``): the run's id and status changes on stderr as they happen; a
    Ctrl-C or SIGTERM stops at once and says how to pick the run up."""
    user = User(
        user_label=args.user_label, date_of_birth=args.date_of_birth, birth_sex=args.birth_sex
    )
    fields = create_fields(create_cells(args))
    recording = read_stdin_recording() if str(args.file) == "-" else args.file
    progress = _Progress()
    fast_poll = PollPolicy(first_interval=0.2, interval=0.5) if args.sandbox else None
    stop = CancelOnSignal(asyncio.current_task())
    with catching_signals(stop):
        try:
            async with _client(
                args, poll=fast_poll, processing_delay=1.5, hooks=Hooks(on_poll=progress.seen)
            ) as client:
                run = await client.run_wellness_check(
                    recording,
                    user=user,
                    language=args.language,
                    deadline=args.deadline,
                    check_duration=args.check_duration,
                    on_created=progress.created,
                    **fields,
                )
        except ModelRunFailedError as exc:
            if args.json:  # the failed run is still the answer; the error goes to stderr
                _print_run(exc.run, True, out)
            raise
        except asyncio.CancelledError:
            if stop.received is None or _uncancel() > 0:
                raise
            _interrupted(stop.received, progress.run_id, sandbox=args.sandbox)
            return exit_status(stop.received)
    _print_run(run, args.json, out)
    return 0


def _interrupted(name: str, run_id: str | None, *, sandbox: bool) -> None:
    if run_id is None:
        _say(
            f"helios-async: interrupted ({name}) before a model run's id arrived; if its create "
            "request had been sent, a run may exist (it costs nothing until a recording is "
            "uploaded)"
        )
    elif sandbox:
        _say(f"helios-async: interrupted ({name}); the embedded sandbox stops with it")
    else:
        _say(
            f"helios-async: interrupted ({name}); model run {run_id} goes on without this "
            f"command. To pick it up: helios-async get {run_id} --wait"
        )


async def _get(args: argparse.Namespace, out: TextIO) -> int:
    """``get RUN_ID [--wait]``: the run now, or (``--wait``) once it finished."""
    if not args.wait:
        async with _client(args) as client:
            run = await client.get_model_run(args.run_id)
        _print_run(run, args.json, out)
        return 0
    progress = _Progress()
    stop = CancelOnSignal(asyncio.current_task())
    with catching_signals(stop):
        try:
            async with _client(args, hooks=Hooks(on_poll=progress.seen)) as client:
                run = await client.wait_for_model_run(args.run_id, timeout=args.timeout)
        except asyncio.CancelledError:
            if stop.received is None or _uncancel() > 0:
                raise
            _interrupted(stop.received, args.run_id, sandbox=False)
            return exit_status(stop.received)
    _print_run(run, args.json, out)
    if not run.succeeded:
        raise ModelRunFailedError(run)
    return 0


def _uncancel() -> int:
    task = asyncio.current_task()
    return task.uncancel() if task is not None else 0


def _print_run(run: ModelRun, as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps(dict(run.raw), indent=2), file=out)
        return
    print(format_run(run), file=out)


def format_account(account: Account) -> str:
    """The account as a readable table: its id and enabled features."""
    features = ", ".join(account.features) if account.features else "(none)"
    return f"Account {account.id}\n  features    {features}"


def format_run(run: ModelRun) -> str:
    """A run as a readable table: identity, timeline, warnings and the eleven scores."""
    lines = [
        f"Model run {run.id}  ({run.user_label})",
        f"  status      {run.status.value if run.status else '(none)'}",
    ]
    for label, when in (("created", run.created_at), ("running", run.run_at)):
        if when is not None:
            lines.append(f"  {label:<11} {when.isoformat(timespec='seconds')}")
    if run.completed_at is not None:
        took = (
            f"  ({(run.completed_at - run.created_at).total_seconds():.1f} s after creation)"
            if run.created_at is not None
            else ""
        )
        lines.append(f"  {'completed':<11} {run.completed_at.isoformat(timespec='seconds')}{took}")
    if run.error_code is not None:
        lines.append(f"  error       {run.error_code.value}: {run.error_reason or ''}")
    lines.extend(f"  warning     {warning}" for warning in run.warnings)
    section = run.section
    if section is not None:
        lines.append(
            f"\n  Scores for {section.start_secs:.1f}-{section.finish_secs:.1f} s"
            " (bucketed: 0, 0.33, 0.66, 1; continuous: 0 to 1)"
        )
        for name, value in section.scores.items():
            kind = "bucketed" if name in BUCKETED_SCORES else "continuous"
            bar = "#" * round(value * _BAR) + "." * (_BAR - round(value * _BAR))
            lines.append(f"  {name.replace('_', ' '):<26} {value:5.2f}  {bar}  {kind}")
        lines.append(f"\n  Transcript: {section.transcript}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status.

    stdout and stderr escape what they cannot encode; a closed stdout pipe ends the command
    quietly with status 1 (see ``_streams``).
    """
    stream: TextIO = out if out is not None else sys.stdout
    with forgiving_streams():
        try:
            status = _main(build_parser().parse_args(argv), stream)
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
        print(f"helios-async: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _print_error(args: argparse.Namespace, error: HeliosError, out: TextIO) -> None:
    """With ``--json``, stdout still gets a JSON document: ``{"error": {...}}`` (the fields
    of ``batch``'s error objects, plus ``field`` for input refused locally)."""
    if getattr(args, "json", False):
        fields = error_fields(error)
        if isinstance(error, InvalidInputError):
            fields = {**fields, "message": _cli_message(args, error), "field": error.field}
        print(json.dumps({"error": fields}, indent=2), file=out)


def _cli_message(args: argparse.Namespace, error: InvalidInputError) -> str:
    """The library's message, with its ``api_key=...`` advice put in command-line terms."""
    if error.field == "api_key" and error.rule.startswith("no API key"):
        where = " (or pass --sandbox to use a local sandbox)" if hasattr(args, "sandbox") else ""
        return f"no API key: set the THYMIA_API_KEY environment variable{where}"
    return str(error)
