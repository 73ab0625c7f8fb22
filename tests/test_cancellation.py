"""Cancelling a wellness check in any phase leaves nothing open, and the run can be resumed."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import os
from pathlib import Path

import pytest

from helios_async import (
    BirthSex,
    HeliosClient,
    Hooks,
    ModelRun,
    ModelRunCreated,
    ModelRunStatus,
    PollPolicy,
    RequestEvent,
    User,
)
from helios_async.testing import Sandbox, sample_recording

USER = User(user_label="cancel-me", date_of_birth=dt.date(1985, 1, 1), birth_sex=BirthSex.FEMALE)


def open_fds() -> set[str]:
    """What this process has open: sockets and files, by their /proc link targets."""
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # closed while listing (the listing's own fd)
    return fds


SERVER_SIDE = {"RequestHandler.start", "BaseSelectorEventLoop._accept_connection2"}


def client_tasks() -> set[asyncio.Task[object]]:
    """Running tasks, less the sandbox's own per-connection server tasks."""
    return {
        task
        for task in asyncio.all_tasks()
        if task.get_coro().__qualname__ not in SERVER_SIDE  # type: ignore[union-attr]
    }


def holds(path: Path) -> bool:
    return str(path.resolve()) in open_fds()


@pytest.mark.parametrize("phase", ["create", "upload", "poll"])
async def test_cancelling_in_each_phase_releases_everything_and_the_run_can_be_resumed(
    phase: str, tmp_path: Path
) -> None:
    """Issue 3: cancel during create, upload or poll; no task, file or socket stays open."""
    recording = tmp_path / "speech.ogg"
    recording.write_bytes(sample_recording().read_bytes())
    # A big enough upload that it is still in flight when cancelled.
    created_runs: list[ModelRunCreated] = []
    main_task: list[asyncio.Task[ModelRun]] = []

    def cancel_on_request(event: RequestEvent) -> None:
        if phase == "create" and event.operation == "create_model_run":
            main_task[0].cancel()

    def cancel_on_progress(sent: int, total: int) -> None:
        if phase == "upload":
            main_task[0].cancel()

    def cancel_on_poll(run: ModelRun) -> None:
        if phase == "poll":
            main_task[0].cancel()

    hooks = Hooks(
        on_request=cancel_on_request,
        on_upload_progress=cancel_on_progress,
        on_poll=cancel_on_poll,
    )
    gc.collect()
    before = open_fds()
    tasks_before = client_tasks()
    async with (
        Sandbox(processing_delay=0.2) as sandbox,
        HeliosClient(
            sandbox.api_key,
            base_url=sandbox.base_url,
            hooks=hooks,
            poll=PollPolicy(first_interval=0.01, interval=0.02, timeout=5),
        ) as client,
    ):
        main_task.append(
            asyncio.create_task(
                client.run_wellness_check(
                    recording, user=USER, language="en-GB", on_created=created_runs.append
                )
            )
        )
        with pytest.raises(asyncio.CancelledError):
            await main_task[0]
        assert not holds(recording), "the recording's file handle was left open"
        assert client_tasks() == tasks_before
        if phase == "create":
            assert created_runs == []
        else:
            (created,) = created_runs
            resumed = client.with_options(hooks=Hooks())
            if phase == "upload":
                await resumed.upload_recording(created, recording)
            run = await resumed.wait_for_model_run(created.id, timeout=5)
            assert run.status is ModelRunStatus.COMPLETE_OK
    gc.collect()
    assert open_fds() <= before, "a socket or file is still open after closing everything"


async def test_the_api_key_appears_in_no_log_line_repr_or_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The key is a secret: not in DEBUG/INFO logs, reprs or any error text, even on failure."""
    caplog.set_level(logging.DEBUG, logger="helios_async")
    errors: list[BaseException] = []
    async with Sandbox() as sandbox:
        key = sandbox.api_key
        async with HeliosClient(
            key, base_url=sandbox.base_url, poll=PollPolicy(first_interval=0.01, interval=0.01)
        ) as client:
            run = await client.run_wellness_check(sample_recording(), user=USER, language="en-GB")
            for bad in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
                try:
                    await client.get_model_run(bad)
                except Exception as exc:
                    errors.append(exc)
            texts = [repr(client), repr(run), str(run), *map(str, errors), *map(repr, errors)]
        async with HeliosClient("wrong-" + key, base_url=sandbox.base_url) as wrong:
            try:
                await wrong.get_account()
            except Exception as exc:
                errors.append(exc)
                texts += [str(exc), repr(exc), str(getattr(exc, "body", b""))]
    assert len(errors) == 3
    assert caplog.records, "expected DEBUG request lines"
    texts += [record.getMessage() for record in caplog.records]
    assert all(key not in text for text in texts)
