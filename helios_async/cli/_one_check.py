"""``check`` (and ``demo``) and ``get [--wait]``: one run followed to its end, interruptible.

The run's id and each status change go to stderr the moment they happen; stdout holds only
the answer (a table, or the API's JSON with ``--json``). Ctrl-C or SIGTERM stops at once with
130 or 143 and says how to pick the run up (``helios-async get RUN_ID --wait``): one line on
stderr and, with ``--json``, one JSON object on stdout::

    {"interrupted": {"signal": "SIGTERM", "model_run_id": "ddebd75b-...",
                     "resume": "helios-async get ddebd75b-... --wait"}}

``signal`` is ``SIGINT`` or ``SIGTERM``; ``model_run_id`` is null if the run's id had not
arrived, and ``resume`` null when there is nothing to pick up (no id, or the run was on the
embedded sandbox, which stops with the command).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TextIO

from helios_async import (
    Hooks,
    ModelRun,
    ModelRunCreated,
    ModelRunFailedError,
    ModelRunStatus,
    PollPolicy,
    User,
)

from ._args import create_cells
from ._manifest import create_fields
from ._signals import CancelOnSignal, catching_signals, exit_status, uncancel
from ._streams import read_stdin_recording
from ._tables import format_run
from ._target import command_client

__all__ = ["check_command", "get_command", "print_interrupted", "print_run"]

_SIGNALS = {"Ctrl-C": "SIGINT", "SIGTERM": "SIGTERM"}  # as the JSON names them


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


async def check_command(args: argparse.Namespace, out: TextIO) -> int:
    """``check`` (and ``demo``): create, upload, wait; the run printed on ``out``."""
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
            async with command_client(
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
                print_run(exc.run, True, out)
            raise
        except asyncio.CancelledError:
            if stop.received is None or uncancel() > 0:
                raise
            return _interrupted(stop.received, progress.run_id, args, out)
    print_run(run, args.json, out)
    return 0


async def get_command(args: argparse.Namespace, out: TextIO) -> int:
    """``get RUN_ID [--wait]``: the run now, or (``--wait``) once it finished."""
    if not args.wait:
        async with command_client(args) as client:
            run = await client.get_model_run(args.run_id)
        print_run(run, args.json, out)
        return 0
    progress = _Progress()
    stop = CancelOnSignal(asyncio.current_task())
    with catching_signals(stop):
        try:
            async with command_client(args, hooks=Hooks(on_poll=progress.seen)) as client:
                run = await client.wait_for_model_run(args.run_id, timeout=args.timeout)
        except asyncio.CancelledError:
            if stop.received is None or uncancel() > 0:
                raise
            return _interrupted(stop.received, args.run_id, args, out)
    print_run(run, args.json, out)
    if not run.succeeded:
        raise ModelRunFailedError(run)
    return 0


def _interrupted(name: str, run_id: str | None, args: argparse.Namespace, out: TextIO) -> int:
    """Say how to pick the run up (stderr, and stdout with ``--json``); the exit status."""
    sandbox = getattr(args, "sandbox", False)
    resume = f"helios-async get {run_id} --wait" if run_id is not None and not sandbox else None
    if run_id is None:
        _say(
            f"helios-async: interrupted ({name}) before a model run's id arrived; if its create "
            "request had been sent, a run may exist (it costs nothing until a recording is "
            "uploaded)"
        )
    elif resume is None:
        _say(f"helios-async: interrupted ({name}); the embedded sandbox stops with it")
    else:
        _say(
            f"helios-async: interrupted ({name}); model run {run_id} goes on without this "
            f"command. To pick it up: {resume}"
        )
    if args.json:
        print_interrupted(out, name, run_id=run_id, resume=resume)
    args.interrupted_status = exit_status(name)  # answered: a later signal adds nothing
    return exit_status(name)


def print_interrupted(
    out: TextIO, name: str, *, run_id: str | None = None, resume: str | None = None
) -> None:
    """The ``--json`` answer of an interrupted command: ``{"interrupted": {...}}``."""
    answer = {"signal": _SIGNALS[name], "model_run_id": run_id, "resume": resume}
    print(json.dumps({"interrupted": answer}, indent=2), file=out, flush=True)


def print_run(run: ModelRun, as_json: bool, out: TextIO) -> None:
    """The run on ``out``: the API's JSON, or the readable table."""
    print(json.dumps(dict(run.raw), indent=2) if as_json else format_run(run), file=out)
