"""``cli/_one_check``: ``check`` and ``get --wait`` as processes, interrupted and picked up."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import signal
import sys
from typing import Any

import pytest
from cli_helpers import start_command

from helios_async import HeliosClient, User
from helios_async.cli import main
from helios_async.cli._args import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED
from helios_async.testing import Sandbox, sample_recording

PERSON = ["--user-label", "cli-user", "--date-of-birth", "1990-08-24", "--birth-sex", "female"]


class MovableClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    ("sig", "exit_status"),
    [(signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, EXIT_TERMINATED)],
)
async def test_an_interrupted_check_says_how_to_pick_its_run_up_and_get_wait_does(
    sig: signal.Signals, exit_status: int
) -> None:
    """Ctrl-C or SIGTERM while the run processes: the command names the run and the way to
    pick it up; ``get RUN_ID --wait`` then waits for it and prints it."""
    clock = MovableClock()
    async with Sandbox(clock=clock, processing_delay=60, record_bodies=False) as sandbox:
        recording = str(sample_recording())
        process = await start_command(sandbox, "check", recording, *PERSON, "--language", "en-GB")
        assert process.stderr is not None
        async with asyncio.timeout(60):
            created = (await process.stderr.readline()).decode()
            assert created.startswith("created model run "), created
            run_id = created.split()[-1]
            assert (await process.stderr.readline()).decode().endswith(": RUNNING\n")
        process.send_signal(sig)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == exit_status
        assert stdout == b""
        assert f"helios-async get {run_id} --wait" in stderr.decode()
        assert sandbox.runs_created() == 1

        clock.now += dt.timedelta(seconds=61)  # the run finishes on the sandbox
        process = await start_command(sandbox, "get", run_id, "--wait", "--json")
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr
        assert json.loads(stdout)["status"] == "COMPLETE_OK"
        assert stderr.decode().splitlines() == [f"model run {run_id}: COMPLETE_OK"]
        assert sandbox.runs_created() == 1


async def test_get_wait_of_a_failed_run_prints_it_and_exits_1() -> None:
    async with Sandbox(record_bodies=False) as sandbox:
        sandbox.set_outcome("cli-user", "ERR_INTERNAL")
        async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url) as client:
            user = User(user_label="cli-user", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")
            created = await client.create_model_run(user=user, language="en-GB")
            await client.upload_recording(created, sample_recording())
        process = await start_command(sandbox, "get", created.id, "--wait", "--json")
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == EXIT_FAILED
    assert json.loads(stdout)["errorCode"] == "ERR_INTERNAL"
    assert "ERR_INTERNAL" in stderr.decode()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    ("sig", "name", "exit_status"),
    [(signal.SIGINT, "SIGINT", EXIT_INTERRUPTED), (signal.SIGTERM, "SIGTERM", EXIT_TERMINATED)],
)
async def test_an_interrupted_check_with_json_prints_one_json_object_naming_the_run(
    sig: signal.Signals, name: str, exit_status: int
) -> None:
    """``check --json`` interrupted after the run was created: stdout is one JSON object that
    says so, with the run's id and the command that picks it up; the exit status is the
    documented 130 (Ctrl-C) or 143 (SIGTERM)."""
    async with Sandbox(processing_delay=60, record_bodies=False) as sandbox:
        recording = str(sample_recording())
        process = await start_command(
            sandbox, "check", recording, *PERSON, "--language", "en-GB", "--json"
        )
        assert process.stderr is not None
        async with asyncio.timeout(60):
            created = (await process.stderr.readline()).decode()
            assert created.startswith("created model run "), created
            run_id = created.split()[-1]
        process.send_signal(sig)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == exit_status, stderr
    assert json.loads(stdout) == {
        "interrupted": {
            "signal": name,
            "model_run_id": run_id,
            "resume": f"helios-async get {run_id} --wait",
        }
    }
    assert f"helios-async get {run_id} --wait" in stderr.decode()
    assert sandbox.runs_created() == 1


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_an_interrupted_get_wait_with_json_prints_the_same_object() -> None:
    """``get RUN_ID --wait --json`` stopped by SIGTERM: the same JSON object, exit 143."""
    async with Sandbox(processing_delay=60, record_bodies=False) as sandbox:
        async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url) as client:
            user = User(user_label="cli-user", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")
            created = await client.create_model_run(user=user, language="en-GB")
            await client.upload_recording(created, sample_recording())
        process = await start_command(sandbox, "get", created.id, "--wait", "--json")
        assert process.stderr is not None
        async with asyncio.timeout(60):
            seen = (await process.stderr.readline()).decode()
            assert seen.startswith(f"model run {created.id}: "), seen
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == EXIT_TERMINATED, stderr
    resume = f"helios-async get {created.id} --wait"
    assert json.loads(stdout) == {
        "interrupted": {"signal": "SIGTERM", "model_run_id": created.id, "resume": resume}
    }


def test_a_ctrl_c_before_any_run_still_answers_json_with_nothing_to_pick_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ctrl-C that reaches the program as ``KeyboardInterrupt`` (before a command caught
    the signal: no run yet) still gives ``--json`` its one object, with no run and no
    resume; exit 130. (``asyncio.run`` is made to raise it, as a Ctrl-C there would.)"""

    def interrupted(coroutine: Any) -> None:
        coroutine.close()
        raise KeyboardInterrupt

    monkeypatch.setattr("helios_async.cli._commands.asyncio.run", interrupted)
    out = io.StringIO()
    argv = ["check", str(sample_recording()), *PERSON, "--language", "en-GB", "--json"]
    assert main(argv, out=out) == EXIT_INTERRUPTED
    assert json.loads(out.getvalue()) == {
        "interrupted": {"signal": "SIGINT", "model_run_id": None, "resume": None}
    }
    assert capsys.readouterr().err == "helios-async: interrupted\n"


class _SecondSignalAfterTheAnswer(io.StringIO):
    """stdout that, as the interrupted answer is written, queues a second SIGINT to arrive
    once the command has returned: the second of two signals sent together (GNU ``timeout``
    signals the child and its group) landing after the command's handlers were restored."""

    def __init__(self) -> None:
        super().__init__()
        self.queued = False

    def write(self, text: str) -> int:
        if '"interrupted"' in text and not self.queued:
            self.queued = True
            asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGINT)
        return super().write(text)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_two_ctrl_cs_together_give_one_json_answer_the_one_with_the_run_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check --json`` sent SIGINT twice: exactly one JSON document on stdout, naming the
    run; exit 130. (The first SIGINT is raised as the run is created, the second once the
    command has answered: no timing involved.)"""
    from helios_async.cli import _one_check

    created = _one_check._Progress.created

    def created_then_ctrl_c(self: Any, run: Any) -> None:
        created(self, run)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(_one_check._Progress, "created", created_then_ctrl_c)
    out = _SecondSignalAfterTheAnswer()
    argv = ["check", str(sample_recording()), *PERSON, "--language", "en-GB", "--sandbox"]
    assert main([*argv, "--json"], out=out) == EXIT_INTERRUPTED
    answer = json.loads(out.getvalue())  # one document: a second would not parse
    run_id = answer["interrupted"]["model_run_id"]
    assert run_id is not None
    assert f"created model run {run_id}" in capsys.readouterr().err
