"""Whole wellness checks when time or a hook fails them (issue 10, items 3 and 18)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from conftest import USER

from helios_async import (
    DeadlineExceededError,
    HeliosClient,
    HookError,
    Hooks,
    ModelRunCreated,
    ResponseEvent,
)
from helios_async.testing import Sandbox, sample_recording


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(processing_delay=0.01) as server:
        yield server


def client_on(
    sandbox: Sandbox, make_client: Callable[..., HeliosClient], hooks: Hooks
) -> HeliosClient:
    return make_client(sandbox.base_url, api_key=sandbox.api_key, hooks=hooks)


# -- 3. the deadline runs out between the upload and the first poll ---------------------------


async def test_a_deadline_that_runs_out_after_the_upload_is_a_deadline_error_with_the_run(
    sandbox: Sandbox, make_client: Callable[..., HeliosClient]
) -> None:
    """The upload's answer arrives; by then the deadline has passed (the event loop's clock
    is moved an hour on in the hook, as a stalled process would see it). The run exists and
    is billed: DeadlineExceededError in the poll phase with its id, never "bad input"."""
    loop = asyncio.get_running_loop()
    real_time = loop.time

    def on_response(event: ResponseEvent) -> None:
        if event.operation == "upload_recording":
            loop.time = lambda: real_time() + 3600  # type: ignore[method-assign]

    try:
        async with client_on(sandbox, make_client, Hooks(on_response=on_response)) as client:
            with pytest.raises(DeadlineExceededError) as caught:
                await client.run_wellness_check(
                    sample_recording(), user=USER, language="en-GB", deadline=30
                )
    finally:
        vars(loop).pop("time", None)  # the loop's own clock again
    assert caught.value.phase == "poll"
    assert caught.value.model_run_id == sandbox.run_ids(USER.user_label)[0]


# -- 18. a hook that raises during a create ---------------------------------------------------


def raising_on_create(event: ResponseEvent) -> None:
    if event.operation == "create_model_run":
        raise KeyError("the metrics label is missing")


async def test_a_hook_raising_during_a_create_keeps_the_run_on_the_error(
    sandbox: Sandbox, make_client: Callable[..., HeliosClient]
) -> None:
    """The run was made before the hook raised: the caller gets a HookError (the KeyError
    chained) carrying the run's id, and on_created still sees the run."""
    announced: list[ModelRunCreated] = []
    async with client_on(sandbox, make_client, Hooks(on_response=raising_on_create)) as client:
        with pytest.raises(HookError) as caught:
            await client.run_wellness_check(
                sample_recording(), user=USER, language="en-GB", on_created=announced.append
            )
    [run_id] = sandbox.run_ids(USER.user_label)
    assert caught.value.model_run_id == run_id
    assert (caught.value.hook, caught.value.operation) == ("on_response", "create_model_run")
    assert isinstance(caught.value.__cause__, KeyError)
    assert [created.id for created in announced] == [run_id]


async def test_a_create_whose_hook_raised_hands_back_the_created_run(
    sandbox: Sandbox, make_client: Callable[..., HeliosClient]
) -> None:
    """create_model_run alone: the error's ``result`` is the ModelRunCreated, usable."""
    async with client_on(sandbox, make_client, Hooks(on_response=raising_on_create)) as client:
        with pytest.raises(HookError) as caught:
            await client.create_model_run(user=USER, language="en-GB")
        created = caught.value.result
        assert isinstance(created, ModelRunCreated)
        await client.upload_recording(created, sample_recording())
        run = await client.wait_for_model_run(created.id, timeout=5)
    assert run.succeeded
    assert sandbox.runs_created(USER.user_label) == 1
