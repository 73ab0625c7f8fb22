"""``helios-async batch`` end to end: one line per row, resume and interruption (issue 4).

The tests run the command against its embedded sandbox, in-process or as a subprocess (for
a real SIGINT), on small manifests of the test recordings.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import HEADER, write_csv
from recordings import recording

from helios_async import HeliosClient, PollPolicy
from helios_async.cli import main
from helios_async.cli._args import EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_SOME_FAILED
from helios_async.cli._batch import BatchOptions, run_batch
from helios_async.testing import Sandbox, sample_recording

REPO = Path(__file__).resolve().parents[2]


def speech_manifest(folder: Path, count: int) -> Path:
    """``count`` good rows whose recording path is relative to the manifest's folder."""
    (folder / "audio").mkdir(exist_ok=True)
    shutil.copy(sample_recording(), folder / "audio" / "speech.ogg")
    rows = [
        ["audio/speech.ogg", f"batch-{n:04d}", "1990-08-24", "FEMALE", "en-GB"]
        for n in range(count)
    ]
    return write_csv(folder / "manifest.csv", rows)


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of an output, each of which must be one whole JSON object."""
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def lines_in(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def cli(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    return main([str(arg) for arg in argv], out=out), out.getvalue()


def sandbox_runs(summary: str) -> int:
    found = re.search(r"runs created by the sandbox\D+(\d+)", summary)
    assert found is not None, summary
    return int(found.group(1))


# -- the command, in-process ----------------------------------------------------------------


def test_a_batch_writes_one_line_per_row_with_scores_or_errors(tmp_path: Path) -> None:
    """Good rows, a too-short recording, silence, a bad row and a short row: each gets one
    line; the batch goes on and exits 3 (some rows failed)."""
    (tmp_path / "audio").mkdir()
    for name in ("speech-en.wav", "short.wav", "silence-15s.wav"):
        shutil.copy(recording(name), tmp_path / "audio" / name)
    header = [*HEADER, "tags"]
    rows = [
        ["audio/speech-en.wav", "ok-1", "1990-08-24", "MALE", "en-GB", "site=a"],
        ["audio/short.wav", "short", "1990-08-24", "MALE", "en-GB", ""],
        ["audio/silence-15s.wav", "silent", "1990-08-24", "MALE", "en-GB", ""],
        ["audio/speech-en.wav", "bad-dob", "1990-02-30", "MALE", "en-GB", ""],
        ["audio/speech-en.wav", "too-few"],
        ["audio/speech-en.wav", "ok-2", "1990-08-24", "INTERSEX", "en-GB", ""],
    ]
    manifest = write_csv(tmp_path / "m.csv", rows, header)
    out = tmp_path / "out.jsonl"
    status, summary = cli("batch", manifest, "--out", out, "--sandbox", "--sandbox-delay", "0")
    assert status == EXIT_SOME_FAILED
    by_line = {record["line"]: record for record in records(out)}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7]
    ok = by_line[2]
    assert ok["status"] == "COMPLETE_OK" and ok["error"] is None
    assert ok["row"]["tags"] == "site=a" and len(ok["scores"]) == 11
    assert 0 <= ok["scores"]["mental_strain"] <= 1
    assert by_line[3]["error"]["type"] == "RecordingError"
    assert by_line[3]["error"]["code"] == "ERR_RECORDING_TOO_SHORT"
    assert by_line[3]["model_run_id"] is None
    assert by_line[4]["status"] == "COMPLETE_ERROR" and by_line[4]["model_run_id"]
    assert by_line[4]["error"]["code"] == "ERR_TRANSCRIPTION_FAILED"
    assert by_line[5]["error"]["type"] == "InvalidInputError"
    assert "date_of_birth" in by_line[5]["error"]["message"]
    assert "has 2 fields" in by_line[6]["error"]["message"]
    assert by_line[7]["status"] == "COMPLETE_OK"
    assert sandbox_runs(summary) == 3  # short and the bad rows never reached the API


def test_an_all_good_batch_exits_0_and_resuming_a_finished_one_does_nothing(
    tmp_path: Path,
) -> None:
    manifest, out = speech_manifest(tmp_path, 12), tmp_path / "out.jsonl"
    argv = ("batch", manifest, "--out", out, "--sandbox", "--sandbox-delay", "0")
    assert cli(*argv)[0] == EXIT_OK
    assert len(records(out)) == 12
    status, summary = cli(*argv, "--resume")
    assert status == EXIT_OK
    assert len(records(out)) == 12
    assert sandbox_runs(summary) == 0


def test_nothing_runs_when_the_output_exists_without_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest, out = speech_manifest(tmp_path, 2), tmp_path / "out.jsonl"
    out.write_text('{"line": 2, "row_hash": "x"}\n')
    status, _ = cli("batch", manifest, "--out", out, "--sandbox")
    assert status == EXIT_INVALID
    assert "--resume" in capsys.readouterr().err
    assert len(records(out)) == 1


def test_the_cli_sizes_its_pool_to_the_concurrency_and_refuses_zero(tmp_path: Path) -> None:
    manifest = speech_manifest(tmp_path, 1)
    argv = ("batch", manifest, "--sandbox", "--sandbox-delay", "0", "--concurrency")
    assert cli(*argv, "0", "--out", tmp_path / "zero.jsonl")[0] == EXIT_INVALID
    assert cli(*argv, "150", "--out", tmp_path / "many.jsonl")[0] == EXIT_OK


def test_a_missing_manifest_or_bad_header_exits_2(tmp_path: Path) -> None:
    assert cli("batch", tmp_path / "nope.csv", "--out", tmp_path / "o.jsonl")[0] == EXIT_INVALID
    bad = write_csv(tmp_path / "m.csv", [], header=["file", "who"])
    assert cli("batch", bad, "--out", tmp_path / "o.jsonl", "--sandbox")[0] == EXIT_INVALID


def test_an_edited_row_is_noticed_and_checked_again_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest, out = speech_manifest(tmp_path, 5), tmp_path / "out.jsonl"
    argv = ("batch", manifest, "--out", out, "--sandbox", "--sandbox-delay", "0")
    assert cli(*argv)[0] == EXIT_OK
    lines = manifest.read_text().splitlines()
    lines[3] = lines[3].replace("1990-08-24", "1985-01-01")  # the row on line 4
    manifest.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    status, summary = cli(*argv, "--resume")
    assert status == EXIT_OK
    assert "line 4: changed since it was recorded" in capsys.readouterr().err
    assert sandbox_runs(summary) == 1
    latest = {record["line"]: record for record in records(out)}  # the last line wins
    assert latest[4]["row"]["date_of_birth"] == "1985-01-01"
    assert len(records(out)) == 6


@pytest.fixture
async def shared_sandbox() -> AsyncIterator[tuple[Sandbox, HeliosClient]]:
    """One sandbox across several batch invocations, so its run count spans all of them."""
    async with (
        Sandbox(processing_delay=0.05, record_bodies=False) as sandbox,
        HeliosClient(
            sandbox.api_key,
            base_url=sandbox.base_url,
            poll=PollPolicy(first_interval=0.02, interval=0.05, timeout=10),
        ) as client,
    ):
        yield sandbox, client


async def test_cancelled_then_resumed_every_row_once_and_only_missing_rows_created(
    tmp_path: Path, shared_sandbox: tuple[Sandbox, HeliosClient]
) -> None:
    """Cancel the batch task half way, resume: 60 distinct rows, each run id once, and the
    second invocation creates runs only for rows the first did not write."""
    sandbox, client = shared_sandbox
    manifest, out = speech_manifest(tmp_path, 60), tmp_path / "out.jsonl"
    options = BatchOptions(manifest=manifest, out=out, concurrency=8, progress=False)
    first = asyncio.create_task(
        run_batch(options, out=io.StringIO(), err=io.StringIO(), client=client)
    )
    async with asyncio.timeout(20):
        while lines_in(out) < 20:  # noqa: ASYNC110 (a file to watch, no event)
            await asyncio.sleep(0.01)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    written = records(out)  # a valid file: every line whole
    assert 20 <= len(written) < 60

    resumed = BatchOptions(manifest=manifest, out=out, concurrency=8, resume=True, progress=False)
    summary = io.StringIO()
    assert await run_batch(resumed, out=summary, err=io.StringIO(), client=client) == EXIT_OK
    final = records(out)
    assert len(final) == 60
    assert sorted(record["line"] for record in final) == list(range(2, 62))
    assert len({record["model_run_id"] for record in final}) == 60
    # Per row, not in total: a create cancelled in flight may still be counted by the sandbox
    # after the first invocation returned. A row written by the first invocation has exactly
    # its one run; any other row has its resumed run plus at most one abandoned in flight.
    first_rows = {record["row"]["user_label"] for record in written}
    for record in final:
        label = record["row"]["user_label"]
        runs = sandbox.runs_created(label)
        assert runs == 1 if label in first_rows else 1 <= runs <= 2, (label, runs)
    assert sandbox.runs_created() <= 60 + options.concurrency
    assert "already in the output (skipped)" in summary.getvalue()


# -- the command, as a process: a real Ctrl-C -----------------------------------------------


def run_batch_process(*argv: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "helios_async", "batch", *map(str, argv)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def wait_for_lines(path: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if lines_in(path) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} did not reach {count} lines; process status {process.poll()}")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_half_way_then_resume_gives_every_row_once_and_no_run_twice(
    tmp_path: Path,
) -> None:
    """A real SIGINT: the batch stops taking rows, finishes its checks in flight (so it
    abandons no run), exits 130 with a valid file; --resume creates runs only for the rest."""
    manifest, out = speech_manifest(tmp_path, 60), tmp_path / "out.jsonl"
    argv = (manifest, "--out", out, "--sandbox", "--sandbox-delay", "0.2", "--concurrency", "10")
    process = run_batch_process(*argv)
    try:
        wait_for_lines(out, 15, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "Stopping: no new rows" in stderr
    first = records(out)
    assert 15 <= len(first) < 60
    assert sandbox_runs(stdout) == len(first)  # nothing was left in flight
    assert "cancelled in flight" not in stdout

    process = run_batch_process(*argv, "--resume")
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT_OK, stderr
    final = records(out)
    assert len(final) == 60
    assert len({record["line"] for record in final}) == 60
    assert len({record["model_run_id"] for record in final}) == 60
    assert sandbox_runs(stdout) == 60 - len(first)
