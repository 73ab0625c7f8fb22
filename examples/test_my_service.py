"""Testing your own code against the local sandbox, with the helios_async pytest plugin.

Needs pytest and pytest-asyncio: ``pip install 'helios-async[pytest]'``.

The plugin comes with the package; these tests need only ``pytest-asyncio`` with
``asyncio_mode = "auto"`` in your pytest configuration. Run them with::

    pytest examples/test_my_service.py

Fixtures used: ``helios_client`` (a client bound to a fresh sandbox, fast polling),
``helios_sandbox`` (that sandbox: force outcomes, inspect the requests it received),
``helios_env`` (THYMIA_* pointed at the sandbox, for code that makes its own client) and
``helios_sample_recording`` (a recording the sandbox scores ``COMPLETE_OK``). The sandbox's
``faults`` plan injects failures (503s, 429s, resets, expired upload URLs) where you ask.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from helios_async import DeadlineExceededError, HeliosClient, ModelRunFailedError, User
from helios_async.testing import ErrorStatus, Sandbox

# --- the code under test: in your project it lives in your package -----------------------


async def stress_report(client: HeliosClient, recording: Path, user_label: str) -> str:
    """One line about a person's stress, or why it could not be scored."""
    user = User(user_label=user_label, date_of_birth=dt.date(1990, 8, 24), birth_sex="FEMALE")
    try:
        run = await client.run_wellness_check(recording, user=user, language="en-GB", deadline=60)
    except ModelRunFailedError as exc:
        return f"{user_label}: could not score ({exc.error_code})"
    assert run.section is not None
    return f"{user_label}: stress {run.section.stress:.2f}"


async def nightly_report(recording: Path) -> str:
    """Code that builds its own client from the environment (THYMIA_API_KEY)."""
    async with HeliosClient() as client:
        return await stress_report(client, recording, "nightly")


# --- the tests ------------------------------------------------------------------------------


async def test_a_scored_recording_reports_its_stress(
    helios_client: HeliosClient, helios_sample_recording: Path
) -> None:
    report = await stress_report(helios_client, helios_sample_recording, "user-1")
    assert report.startswith("user-1: stress ")


async def test_a_failed_run_is_reported_not_raised(
    helios_client: HeliosClient, helios_sandbox: Sandbox, helios_sample_recording: Path
) -> None:
    helios_sandbox.set_outcome("user-2", "ERR_TRANSCRIPTION_FAILED")  # any error code
    report = await stress_report(helios_client, helios_sample_recording, "user-2")
    assert report == "user-2: could not score (ERR_TRANSCRIPTION_FAILED)"


async def test_code_that_makes_its_own_client_reaches_the_sandbox(
    helios_env: Sandbox, helios_sample_recording: Path
) -> None:
    report = await nightly_report(helios_sample_recording)
    assert report.startswith("nightly: stress ")
    assert helios_env.runs_created("nightly") == 1


@pytest.mark.helios(processing_delay=30)  # runs stay RUNNING for 30 s (sandbox clock)
async def test_a_slow_run_ends_in_a_deadline_error(
    helios_client: HeliosClient, helios_sample_recording: Path
) -> None:
    user = User(user_label="user-3", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")
    with pytest.raises(DeadlineExceededError) as caught:
        await helios_client.run_wellness_check(
            helios_sample_recording, user=user, language="en-GB", deadline=0.5
        )
    assert caught.value.phase == "poll"
    assert caught.value.model_run_id is not None  # resume it later with wait_for_model_run


async def test_the_key_goes_to_the_api_and_never_to_storage(
    helios_client: HeliosClient, helios_sandbox: Sandbox, helios_sample_recording: Path
) -> None:
    await stress_report(helios_client, helios_sample_recording, "user-4")
    hosts = {(request.host, "x-api-key" in request.headers) for request in helios_sandbox.requests}
    assert hosts == {("api", True), ("storage", False)}


async def test_a_passing_outage_is_ridden_out(
    helios_client: HeliosClient, helios_sandbox: Sandbox, helios_sample_recording: Path
) -> None:
    helios_sandbox.faults.add("get", ErrorStatus(503), times=2)  # the next two polls fail
    report = await stress_report(helios_client, helios_sample_recording, "user-5")
    assert report.startswith("user-5: stress ")  # the client retried them
    assert helios_sandbox.faults.count("get", ErrorStatus) == 2
