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
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from cli_helpers import HEADER, start_command, write_csv
from recordings import recording

from helios_async import FileJournal, HeliosClient, JobState, PollPolicy
from helios_async.cli import main
from helios_async.cli._args import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_TERMINATED,
)
from helios_async.cli._batch import run_batch
from helios_async.cli._batch_options import BatchOptions, journal_path
from helios_async.testing import Reset, Sandbox, Slow, sample_recording

REPO = Path(__file__).resolve().parents[2]
FAST = PollPolicy(first_interval=0.02, interval=0.05, timeout=10)


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
    for record in by_line.values():  # the documented keys, null where they do not apply
        if record["error"] is not None:
            assert set(record["error"]) == {"type", "message", "code", "http_status", "field"}
    assert by_line[5]["error"]["field"] == "date_of_birth"
    assert "1990-02-30" not in by_line[5]["error"]["message"]  # personal data: not echoed
    # Refused locally, the too-short recording is counted with the bad rows, not as checked.
    assert re.search(r"refused locally \(nothing sent\)\D+3", summary), summary
    assert "checked now: RecordingError" not in summary


def test_a_new_output_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Labels, dates of birth and scores: a new output (JSON Lines or CSV) is created 0600,
    like its journal; an existing one keeps the mode its owner gave it on --resume."""
    manifest = speech_manifest(tmp_path, 1)
    for name, form in (("out.jsonl", "jsonl"), ("out.csv", "csv")):
        out = tmp_path / name
        argv = ("batch", manifest, "--out", out, "--format", form, "--sandbox")
        assert cli(*argv, "--sandbox-delay", "0")[0] == EXIT_OK
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        out.chmod(0o640)
        assert cli(*argv, "--sandbox-delay", "0", "--resume")[0] == EXIT_OK
        assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_a_cell_over_the_limit_is_a_bad_row_by_line_and_the_batch_goes_on(
    tmp_path: Path,
) -> None:
    """A cell longer than 131072 characters: that row is a bad row named by its line, the
    others are checked."""
    wav = shutil.copy(sample_recording(), tmp_path / "a.wav")
    rows = [
        [str(wav), "x" * 200_000, "1990-08-24", "MALE", "en-GB"],
        [str(wav), "ok", "1990-08-24", "MALE", "en-GB"],
    ]
    manifest, out = write_csv(tmp_path / "m.csv", rows), tmp_path / "out.jsonl"
    status, _ = cli("batch", manifest, "--out", out, "--sandbox", "--sandbox-delay", "0")
    assert status == EXIT_SOME_FAILED
    by_line = {record["line"]: record for record in records(out)}
    assert "user_label cell is longer than 131072" in by_line[2]["error"]["message"]
    assert by_line[3]["status"] == "COMPLETE_OK"


def test_a_manifest_not_in_utf8_is_refused_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_bytes(b"recording,user_label,date_of_birth,birth_sex,language\n")
    with manifest.open("ab") as stream:
        stream.write("a.wav,Zoë,1990-08-24,MALE,en-GB\n".encode("latin-1"))
    status, _ = cli("batch", manifest, "--out", tmp_path / "o.jsonl", "--sandbox")
    assert status == EXIT_INVALID
    assert "save it as UTF-8" in capsys.readouterr().err


def test_an_out_ending_csv_gets_csv_unless_format_says_otherwise(tmp_path: Path) -> None:
    """``--out results.csv`` without ``--format``: CSV, not JSON Lines in a .csv file."""
    manifest = speech_manifest(tmp_path, 1)
    out = tmp_path / "results.CSV"
    assert cli("batch", manifest, "--out", out, "--sandbox", "--sandbox-delay", "0")[0] == EXIT_OK
    assert out.read_text().startswith("line,row_hash,")
    other = tmp_path / "results.csv"
    argv = ("batch", manifest, "--out", other, "--format", "jsonl", "--sandbox")
    assert cli(*argv, "--sandbox-delay", "0")[0] == EXIT_OK
    assert records(other)[0]["status"] == "COMPLETE_OK"


def test_a_second_batch_on_an_output_in_use_is_refused_before_any_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another batch holds the output's journal: refused at once (exit 2), no summary."""
    manifest, out = speech_manifest(tmp_path, 1), tmp_path / "out.jsonl"
    with FileJournal(journal_path(out)):
        status, summary = cli("batch", manifest, "--out", out, "--resume", "--sandbox")
    assert status == EXIT_INVALID
    assert summary == ""
    assert "in use by another process" in capsys.readouterr().err


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


def keyed_manifest(folder: Path, keys: list[str]) -> Path:
    (folder / "audio").mkdir(exist_ok=True)
    shutil.copy(sample_recording(), folder / "audio" / "speech.ogg")
    rows = [["audio/speech.ogg", f"u-{k}", "1990-08-24", "FEMALE", "en-GB", k] for k in keys]
    return write_csv(folder / "manifest.csv", rows, [*HEADER, "key"])


def test_with_a_key_column_rows_may_move_between_runs_and_only_new_ones_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest, out = keyed_manifest(tmp_path, ["a", "b", "c", "d"]), tmp_path / "out.jsonl"
    argv = ("batch", manifest, "--out", out, "--sandbox", "--sandbox-delay", "0")
    assert cli(*argv)[0] == EXIT_OK
    keyed_manifest(tmp_path, ["d", "new", "b", "a", "c"])  # reordered, one row inserted
    status, summary = cli(*argv, "--resume")
    assert status == EXIT_OK
    assert sandbox_runs(summary) == 1
    latest = {record["key"]: record for record in records(out)}
    assert sorted(latest) == ["a", "b", "c", "d", "new"]
    assert latest["new"]["line"] == 3 and latest["new"]["status"] == "COMPLETE_OK"
    assert "columns not sent" not in capsys.readouterr().err


def test_a_key_that_repeats_an_earlier_row_s_is_a_bad_row(tmp_path: Path) -> None:
    manifest, out = keyed_manifest(tmp_path, ["a", "b", "a"]), tmp_path / "out.jsonl"
    argv = ("batch", manifest, "--out", out, "--sandbox", "--sandbox-delay", "0")
    assert cli(*argv)[0] == EXIT_SOME_FAILED
    by_line = {record["line"]: record for record in records(out)}
    assert by_line[4]["error"]["type"] == "InvalidInputError"
    assert "repeats the key of line 2" in by_line[4]["error"]["message"]
    assert by_line[2]["status"] == "COMPLETE_OK"
    status, summary = cli(*argv, "--resume")  # nothing to do: the first "a" stays done
    # ... and the bad row stays bad: 0 only when every row is COMPLETE_OK
    assert status == EXIT_SOME_FAILED and sandbox_runs(summary) == 0


async def test_an_unknown_create_is_listed_skipped_on_resume_and_retried_only_when_asked(
    tmp_path: Path,
) -> None:
    """A create whose answer was lost (the run was made) ends unknown: listed, not retried
    by --resume (D13), and created again only with --retry-unknown, the user's decision."""
    manifest, out = speech_manifest(tmp_path, 3), tmp_path / "out.jsonl"
    async with (
        Sandbox(processing_delay=0, record_bodies=False) as sandbox,
        HeliosClient(sandbox.api_key, base_url=sandbox.base_url, poll=FAST) as client,
    ):
        sandbox.faults.add("create", Reset(after_handler=True), times=1)
        options = BatchOptions(manifest=manifest, out=out, concurrency=1, progress=False)
        summary = io.StringIO()
        assert await run_batch(options, out=summary, err=io.StringIO(), client=client) == 3
        [unknown] = [r for r in records(out) if r["journal"] == "unknown"]
        label = unknown["row"]["user_label"]
        assert f"line {unknown['line']}" in summary.getvalue()
        assert "--retry-unknown" in summary.getvalue()

        resumed = attrs.evolve(options, resume=True)
        assert await run_batch(resumed, out=io.StringIO(), err=io.StringIO(), client=client) == 0
        assert sandbox.runs_created(label) == 1  # not retried
        retried = attrs.evolve(resumed, retry_unknown=True)
        assert await run_batch(retried, out=io.StringIO(), err=io.StringIO(), client=client) == 0
    latest = {record["line"]: record for record in records(out)}
    assert latest[unknown["line"]]["status"] == "COMPLETE_OK"
    assert sandbox.runs_created(label) == 2


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


async def test_cancelled_then_resumed_every_row_once_and_no_label_billed_twice(
    tmp_path: Path, shared_sandbox: tuple[Sandbox, HeliosClient]
) -> None:
    """Cancel the batch task half way, resume: 60 distinct rows and at most one run per label.
    The runs cancelled in flight are picked up from the journal, not created again; a create
    cancelled in flight ends ``unknown`` and is never repeated (D13)."""
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
    in_create, picked_up = journal_lines(out)

    resumed = BatchOptions(manifest=manifest, out=out, concurrency=8, resume=True, progress=False)
    summary = io.StringIO()
    status = await run_batch(resumed, out=summary, err=io.StringIO(), client=client)
    assert status == (EXIT_SOME_FAILED if in_create else EXIT_OK)
    final = {record["line"]: record for record in records(out)}
    assert sorted(final) == list(range(2, 62))
    for line, record in final.items():
        label = record["row"]["user_label"]
        assert sandbox.runs_created(label) <= 1 and sandbox.runs_started(label) <= 1, label
        if line in in_create:
            assert record["journal"] == "unknown" and record["model_run_id"] is None
        else:
            assert record["status"] == "COMPLETE_OK", record
            assert sandbox.runs_created(label) == 1
    for line in picked_up:  # cancelled with a run: the resumed row has that same run
        assert final[line]["model_run_id"] == picked_up[line]
    assert "already in the output (skipped)" in summary.getvalue()


def journal_lines(out: Path) -> tuple[set[int], dict[int, str]]:
    """From a stopped batch's journal: the lines whose create was in flight, and the lines
    whose run exists but had not finished (with its id)."""
    with FileJournal(journal_path(out)) as journal:
        in_create = {_line(e.key) for e in journal.entries(JobState.CREATING)}
        picked_up = {
            _line(e.key): e.model_run_id or ""
            for e in journal.entries(JobState.CREATED, JobState.UPLOADED)
        }
    return in_create, picked_up


def _line(key: str) -> int:
    return int(key.partition("#")[0].removeprefix("line:"))


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
    assert "Stopping (Ctrl-C): no new rows" in stderr
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


# -- killed: the sandbox outlives the batch, in the test's process ----------------------------


@pytest.fixture
async def outside_sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox in the test's own process, so that it outlives a batch that is killed."""
    async with Sandbox(processing_delay=0.3, record_bodies=False) as sandbox:
        yield sandbox


async def start_batch(sandbox: Sandbox, *argv: str | Path) -> asyncio.subprocess.Process:
    """``helios-async batch`` in a subprocess, on the real-API path, pointed at ``sandbox``."""
    return await start_command(sandbox, "batch", *argv)


async def until_lines(path: Path, count: int, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(60):
        while lines_in(path) < count:
            assert process.returncode is None, await process.communicate()
            await asyncio.sleep(0.02)


def label_of(line: int) -> str:
    return f"batch-{line - 2:04d}"  # speech_manifest's rows, from line 2


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_a_batch_killed_with_sigkill_and_resumed_bills_no_run_twice(
    tmp_path: Path, outside_sandbox: Sandbox
) -> None:
    """SIGKILL mid-run: every run the batch created is in its journal; --resume waits on
    (or uploads to) those runs instead of creating new ones; a create in flight at the kill
    ends unknown and is never repeated. No label gets two runs, none is billed twice."""
    sandbox = outside_sandbox
    sandbox.faults.add("create", Slow(1.0), rate=0.15)  # so that creates are in flight
    rows = 40
    manifest, out = speech_manifest(tmp_path, rows), tmp_path / "out.jsonl"
    argv = (manifest, "--out", out, "--concurrency", "8", "--no-progress")
    process = await start_batch(sandbox, *argv)
    try:
        await until_lines(out, 10, process)
    finally:
        process.kill()
        await process.communicate()
    assert process.returncode == -signal.SIGKILL
    written = len(records(out))
    in_create, picked_up = journal_lines(out)
    with FileJournal(journal_path(out)) as journal:
        journaled = {entry.model_run_id for entry in journal.entries()}
    cut = {label_of(line) for line in in_create}
    for line in range(2, rows + 2):  # every run made so far is journaled, or its create was cut
        for run_id in sandbox.run_ids(label_of(line)):
            assert run_id in journaled or label_of(line) in cut, (line, run_id)

    process = await start_batch(sandbox, *argv, "--resume")
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == (EXIT_SOME_FAILED if in_create else EXIT_OK), stderr
    final = {record["line"]: record for record in records(out)}
    assert sorted(final) == list(range(2, rows + 2))
    for line, record in final.items():
        label = label_of(line)
        assert sandbox.runs_created(label) <= 1 and sandbox.runs_started(label) <= 1, label
        if line in in_create:
            assert record["journal"] == "unknown"
        else:
            assert record["status"] == "COMPLETE_OK", record
            assert sandbox.runs_created(label) == 1 and sandbox.runs_started(label) == 1
    for line, run_id in picked_up.items():
        assert final[line]["model_run_id"] == run_id
    if in_create:
        assert b"--retry-unknown" in b" ".join(stdout.split())
    if picked_up:
        found = re.search(rb"runs picked up from the journal\D+(\d+)", stdout)
        assert found is not None and int(found.group(1)) == len(picked_up), stdout
    print(
        f"\nSIGKILL after {written} rows: {len(picked_up)} runs in flight picked up, "
        f"{len(in_create)} creates in flight (unknown); {sandbox.runs_created()} runs created "
        f"and {sandbox.runs_started()} billed for {rows} rows; most per label: "
        f"{max(sandbox.runs_created(label_of(n)) for n in range(2, rows + 2))}"
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_sigterm_drains_like_ctrl_c_and_resume_finishes_with_one_run_per_row(
    tmp_path: Path, outside_sandbox: Sandbox
) -> None:
    """SIGTERM (what docker and systemd send): no new rows, the checks in flight finish and
    are written, exit 143; nothing is left in the journal to pick up; --resume does the rest."""
    sandbox = outside_sandbox
    rows = 30
    manifest, out = speech_manifest(tmp_path, rows), tmp_path / "out.jsonl"
    argv = (manifest, "--out", out, "--concurrency", "6", "--no-progress")
    process = await start_batch(sandbox, *argv)
    try:
        await until_lines(out, 6, process)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    assert process.returncode == EXIT_TERMINATED, stderr
    assert b"Stopping (SIGTERM): no new rows" in stderr
    first = records(out)
    assert 6 <= len(first) < rows
    assert sandbox.runs_created() == len(first)  # nothing left in flight
    assert journal_lines(out) == (set(), {})

    process = await start_batch(sandbox, *argv, "--resume")
    _, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == EXIT_OK, stderr
    final = {record["line"]: record for record in records(out)}
    assert sorted(final) == list(range(2, rows + 2))
    assert all(sandbox.runs_created(label_of(line)) == 1 for line in final)
    assert len({record["model_run_id"] for record in final.values()}) == rows


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_a_second_ctrl_c_cancels_at_once_and_resume_picks_up_every_run_in_flight(
    tmp_path: Path, outside_sandbox: Sandbox
) -> None:
    """Two Ctrl-Cs: the checks in flight are cancelled, but each run they made is journaled
    (a create in flight is let answer first), so none is unknown and --resume creates no run
    for them."""
    sandbox = outside_sandbox
    rows = 30
    manifest, out = speech_manifest(tmp_path, rows), tmp_path / "out.jsonl"
    argv = (manifest, "--out", out, "--concurrency", "6", "--no-progress")
    process = await start_batch(sandbox, *argv)
    try:
        await until_lines(out, 6, process)
        process.send_signal(signal.SIGINT)
        assert process.stderr is not None
        async with asyncio.timeout(30):  # the first is taken (signals do not queue up)
            while b"Stopping (Ctrl-C)" not in await process.stderr.readline():
                pass
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
    assert process.returncode == EXIT_INTERRUPTED, stderr
    in_create, picked_up = journal_lines(out)
    print(f"\ntwo Ctrl-Cs: {len(picked_up)} runs in flight journaled, {len(in_create)} unknown")
    assert in_create == set()
    if picked_up:
        assert b"--resume waits on them" in b" ".join(stdout.split())  # however it wraps

    process = await start_batch(sandbox, *argv, "--resume")
    _, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == EXIT_OK, stderr
    final = {record["line"]: record for record in records(out)}
    assert sorted(final) == list(range(2, rows + 2))
    assert all(sandbox.runs_created(label_of(line)) == 1 for line in final)
    for line, run_id in picked_up.items():
        assert final[line]["model_run_id"] == run_id
