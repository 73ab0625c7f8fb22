"""``helios-async fleet ...``: the parser, and submit, worker, collect, status and unknown
giving the same result lines as ``helios-async batch``."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from helios_async import InvalidInputError
from helios_async.cli import main
from helios_async.cli._parser import build_parser
from helios_async.fleet import WorkerOptions, run_worker
from helios_async.fleet._commands import fleet_command
from helios_async.testing import Sandbox, sample_recording

from .conftest import ROOT

HEADER = ["recording", "user_label", "date_of_birth", "birth_sex", "language", "tags"]
IGNORED = {"key", "model_run_id", "seconds", "finished_at"}  # differ from run to run


def records(path: Path) -> dict[int, dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return {line["line"]: {k: v for k, v in line.items() if k not in IGNORED} for line in lines}


class _Terminal(io.StringIO):
    """An output that says it is a terminal (``fleet status --watch`` redraws in place)."""

    def isatty(self) -> bool:
        return True


async def fleet(*argv: str | Path, terminal: bool = False) -> tuple[int, str]:
    out = _Terminal() if terminal else io.StringIO()
    args = build_parser().parse_args(["fleet", *map(str, argv)])
    return await fleet_command(args, out), out.getvalue()


async def work_until_finished(redis_url: str, fleet_name: str, sandbox: Sandbox) -> None:
    """One worker in this process, on ``sandbox``, until the fleet's queue is empty."""
    options = WorkerOptions(
        redis_url=redis_url,
        fleet=fleet_name,
        api_key=sandbox.api_key,
        base_url=sandbox.base_url,
        poll_interval=0.05,
        until_finished=True,
    )
    await run_worker(options, handle_signals=False)


def test_fleet_commands_write_the_same_lines_as_batch(tmp_path: Path, audio_dir: Path) -> None:
    (tmp_path / "audio").mkdir()
    shutil.copy(sample_recording(), tmp_path / "audio" / "speech.ogg")
    shutil.copy(audio_dir / "short.wav", tmp_path / "audio" / "short.wav")
    rows = [
        ["audio/speech.ogg", "cli-1", "1990-08-24", "MALE", "en-GB", "site=a"],
        ["audio/short.wav", "cli-short", "1990-08-24", "MALE", "en-GB", ""],
        ["audio/speech.ogg", "cli-bad-dob", "1990-02-30", "MALE", "en-GB", ""],
        ["audio/speech.ogg", "cli-2", "1990-08-24", "FEMALE", "en-GB", ""],
    ]
    manifest = tmp_path / "m.csv"
    with manifest.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([HEADER, *rows])
    batch_out = tmp_path / "batch.jsonl"
    main(["batch", str(manifest), "--out", str(batch_out), "--sandbox", "--sandbox-delay", "0"])

    url, name = f"memory://{uuid.uuid4().hex}", "cli"
    fleet_out = tmp_path / "fleet.jsonl"

    async def run_fleet() -> tuple[str, str, str, str]:
        common = ("--redis", url, "--fleet", name)
        async with Sandbox(processing_delay=0) as sandbox:
            status, submitted = await fleet("submit", manifest, "--batch", "b", *common)
            assert status == 0
            await work_until_finished(url, name, sandbox)
            _, collected = await fleet("collect", "b", "--out", fleet_out, "--follow", *common)
            _, shown = await fleet("status", "b", *common)
            _, watched = await fleet("status", "b", "--watch", *common, terminal=True)
            _, unknown = await fleet("unknown", "b", *common)
            _, again = await fleet("submit", manifest, "--batch", "b", *common)
            _, forgotten = await fleet("forget", "b", *common)
            with pytest.raises(InvalidInputError, match="no batch 'b' in fleet 'cli'"):
                await fleet("status", "b", *common)  # forgotten: refused, not "submitting"
        return submitted, collected, shown, watched, unknown + again + forgotten

    submitted, collected, shown, watched, rest = asyncio.run(run_fleet())
    assert "3 queued" in submitted and "1 bad row(s)" in submitted
    assert "4 result(s) written" in collected
    assert "4 submitted, 0 pending, 2 ok, 1 failed, 0 unknown, 1 bad" in shown
    assert "complete" in shown
    # On a terminal: drawn by rich.live (cursor hidden, the line erased and drawn again).
    assert watched.startswith("\x1b[?25l") and "\x1b[2K" in watched
    assert "complete" in watched.rpartition("\x1b[2K")[2]
    assert "0 queued, 0 already queued, 4 already done" in rest
    assert "forgotten" in rest
    assert records(fleet_out) == records(batch_out)


async def test_every_fleet_command_needs_a_redis_url() -> None:
    with pytest.raises(InvalidInputError, match="HELIOS_REDIS_URL"):
        await fleet("status", "b", "--redis", "")


def test_the_command_line_does_not_load_the_engine_until_a_fleet_command_runs() -> None:
    code = (
        "import sys, helios_async, helios_async.cli\n"
        "from helios_async.cli._parser import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docket', 'redis')"
        " or m.startswith('helios_async.fleet')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert loaded.strip() == "[]"


def test_a_redis_that_cannot_be_reached_is_one_line_not_a_traceback() -> None:
    """Through the real entry point: every fleet command against a closed port exits 1 with
    one line on stderr, naming the failure and never the URL's password."""
    import os
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://:hunter2-secret@127.0.0.1:{port}/0"
    for argv in (["status", "b"], ["unknown", "b"], ["worker", "--concurrency", "1"]):
        done = subprocess.run(
            [sys.executable, "-m", "helios_async", "fleet", *argv, "--redis", url],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "THYMIA_API_KEY": "test-key"},
        )
        assert done.returncode == 1, (argv, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, (argv, done.stderr)
        assert lines[0].startswith("helios-async: Redis: ") and str(port) in lines[0]
        assert "hunter2-secret" not in done.stderr


async def test_status_unknown_and_collect_refuse_a_batch_never_submitted(tmp_path: Path) -> None:
    """A mistyped batch name is refused (exit 2 from the CLI), not shown as "submitting"
    (which ``status --watch`` would redraw for ever); ``collect --follow`` may wait for it."""
    common = ("--redis", f"memory://{uuid.uuid4().hex}", "--fleet", "typo")
    out = tmp_path / "out.jsonl"
    for argv in (
        ["status", "nightlyy"],
        ["status", "nightlyy", "--watch"],
        ["unknown", "nightlyy"],
        ["collect", "nightlyy", "--out", str(out)],
    ):
        with pytest.raises(InvalidInputError, match="no batch 'nightlyy' in fleet 'typo'"):
            await fleet(*argv, *common)
    assert not out.exists()


async def test_status_watch_into_a_pipe_prints_a_whole_line_each_interval_until_complete(
    tmp_path: Path, clean_redis: str, fleet_name: str
) -> None:
    """``fleet status --watch`` with stdout a pipe (not a terminal), as a process: each
    update is a plain line of its own (no cursor codes to redraw it), the last one
    ``complete`` once the workers have done the batch."""
    shutil.copy(sample_recording(), tmp_path / "speech.ogg")
    manifest = tmp_path / "m.csv"
    with manifest.open("w", newline="", encoding="utf-8") as stream:
        rows = [["speech.ogg", f"watch-{n}", "1990-08-24", "MALE", "en-GB", ""] for n in (1, 2)]
        csv.writer(stream).writerows([HEADER, *rows])
    common = ("--redis", clean_redis, "--fleet", fleet_name)
    async with Sandbox(processing_delay=0) as sandbox:
        assert (await fleet("submit", manifest, "--batch", "b", *common))[0] == 0
        watch = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "helios_async", "fleet", "status", "b", "--watch"),
            *("--interval", "0.05", *common),
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert watch.stdout is not None
        first = await asyncio.wait_for(watch.stdout.readline(), 60)  # before any check ran
        await work_until_finished(clean_redis, fleet_name, sandbox)  # every check done
        rest, err = await asyncio.wait_for(watch.communicate(), 60)
    assert watch.returncode == 0, err.decode()
    written = (first + rest).decode()
    assert "\x1b" not in written and "\r" not in written
    lines = written.splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("b [") for line in lines)
    assert lines[0].endswith("; submitted, running")
    assert "2 submitted, 0 pending, 2 ok" in lines[-1]
    assert lines[-1].endswith("; complete")
