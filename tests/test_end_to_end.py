"""Tier 3: the client end to end against the sandbox, on the real test recordings."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import recordings
from yarl import URL

from helios_async import (
    BirthSex,
    ErrorCode,
    HeliosClient,
    ModelRunFailedError,
    ModelRunStatus,
    PollPolicy,
    RecordingError,
    User,
)
from helios_async._models import BUCKETED_SCORES, SCORE_NAMES
from helios_async.testing import Sandbox, sample_recording

FAST_POLL = PollPolicy(first_interval=0.01, interval=0.02, timeout=10.0)
USER = User(user_label="e2e-user", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.MALE)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(processing_delay=0.05) as server:
        yield server


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[HeliosClient]:
    async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL) as c:
        yield c


@pytest.mark.parametrize(
    "name", ["speech-en.wav", "speech-en.flac", "speech-en.mp3", "speech-en.ogg"]
)
async def test_each_speech_recording_completes_ok_with_every_score_in_range(
    client: HeliosClient, name: str
) -> None:
    """§3.3, D6: COMPLETE_OK, one section, bucketed scores in {0, .33, .66, 1}, others in [0, 1]."""
    run = await client.run_wellness_check(recordings.recording(name), user=USER, language="en-GB")
    assert run.status is ModelRunStatus.COMPLETE_OK
    assert run.completed_at is not None and run.run_at is not None
    assert run.created_at <= run.run_at <= run.completed_at
    assert run.results is not None and len(run.results.sections) == 1
    section = run.results.sections[0]
    assert section.finish_secs == pytest.approx(18.4, abs=0.2)
    for score in SCORE_NAMES:
        value = getattr(section, score)
        if score in BUCKETED_SCORES:
            assert value in (0.0, 0.33, 0.66, 1.0), score
        else:
            assert 0.0 <= value <= 1.0, score


async def test_the_same_audio_gets_the_same_scores(client: HeliosClient) -> None:
    """D16: the sandbox's results are deterministic for the same audio."""
    first = await client.run_wellness_check(sample_recording(), user=USER, language="en-GB")
    again = await client.run_wellness_check(sample_recording(), user=USER, language="en-GB")
    assert first.id != again.id
    assert first.section == again.section


async def test_create_body_on_the_wire_is_exactly_the_documented_camelcase_shape(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """§7: the minimal create is {"user": {userLabel, dateOfBirth, birthSex}, "language"}."""
    user = User(
        user_label="42baba59-fa4a-4a22-ba1c-2e4a88a3badb",
        date_of_birth=dt.date(1990, 8, 24),
        birth_sex="MALE",
    )
    await client.create_model_run(user=user, language="en-GB")
    (create,) = [r for r in sandbox.requests if r.method == "POST"]
    assert create.path == "/v1/models/mental-wellness"
    assert create.headers["Content-Type"] == "application/json"
    assert create.headers["x-api-key"] == sandbox.api_key
    assert json.loads(create.body) == {
        "user": {
            "userLabel": "42baba59-fa4a-4a22-ba1c-2e4a88a3badb",
            "dateOfBirth": "1990-08-24",
            "birthSex": "MALE",
        },
        "language": "en-GB",
    }


async def test_upload_has_exact_length_no_chunking_its_content_type_and_no_key(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """D14: PUT to the URL unchanged, exact Content-Length, audio/flac, never x-api-key."""
    recording = recordings.recording("speech-en.flac")
    created = await client.create_model_run(user=USER, language="en-GB")
    await client.upload_recording(created, recording)
    (put,) = [r for r in sandbox.requests if r.host == "storage"]
    assert put.method == "PUT"
    assert put.status == 200
    assert put.url == created.recording_upload_url  # raw target, not re-quoted
    assert put.headers["Content-Length"] == str(recording.stat().st_size)
    assert put.body_size == recording.stat().st_size
    assert not put.chunked
    assert "Transfer-Encoding" not in put.headers
    assert put.headers["Content-Type"] == "audio/flac"
    assert "x-api-key" not in put.headers
    assert sandbox.api_key not in str(dict(put.headers))
    assert URL(put.url).host == URL(sandbox.storage_url).host


@pytest.mark.parametrize(
    ("source", "content_type"),
    [
        ("speech-en.wav", "audio/wav"),
        ("speech-en.mp3", "audio/mpeg"),
        ("speech-en.ogg", "audio/ogg"),
    ],
)
async def test_upload_from_bytes_and_from_a_file_object_sends_the_same_bytes(
    client: HeliosClient, sandbox: Sandbox, source: str, content_type: str
) -> None:
    """D14: bytes and a binary file give the same request as a path."""
    data = recordings.recording(source).read_bytes()
    for recording in (data, io.BytesIO(data)):
        created = await client.create_model_run(user=USER, language="en-GB")
        await client.upload_recording(created, recording)
    puts = [r for r in sandbox.requests if r.host == "storage"]
    assert [p.headers["Content-Type"] for p in puts] == [content_type, content_type]
    assert all(p.body == data[: len(p.body)] and p.body_size == len(data) for p in puts)


async def test_short_recording_with_preflight_off_fails_with_the_too_short_code(
    client: HeliosClient,
) -> None:
    """§3.4: the server ends a 1 s recording ERR_RECORDING_TOO_SHORT; the error says so."""
    with pytest.raises(ModelRunFailedError) as caught:
        await client.run_wellness_check(
            recordings.recording("short.wav"), user=USER, language="en-GB", check_duration=False
        )
    assert caught.value.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    assert "ERR_RECORDING_TOO_SHORT" in str(caught.value)
    assert caught.value.run.status is ModelRunStatus.COMPLETE_ERROR
    assert caught.value.model_run_id == caught.value.run.id


async def test_short_recording_is_refused_locally_naming_the_code_and_nothing_is_sent(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """D9: under 10 s cannot hold 10 s of speech; refused before a billable run exists."""
    with pytest.raises(RecordingError) as caught:
        await client.run_wellness_check(
            recordings.recording("short.wav"), user=USER, language="en-GB"
        )
    assert caught.value.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    assert "ERR_RECORDING_TOO_SHORT" in str(caught.value)
    assert sandbox.requests == []


async def test_silent_recording_fails_with_transcription_failed(client: HeliosClient) -> None:
    """§3.4: 15 s of digital silence has no speech: ERR_TRANSCRIPTION_FAILED."""
    with pytest.raises(ModelRunFailedError) as caught:
        await client.run_wellness_check(
            recordings.recording("silence-15s.wav"), user=USER, language="en-GB"
        )
    assert caught.value.error_code is ErrorCode.ERR_TRANSCRIPTION_FAILED


async def test_text_file_is_refused_locally_before_any_request(
    client: HeliosClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    """D9: the format comes from the leading bytes; a text file named .wav is refused."""
    fake = tmp_path / "notes.wav"
    fake.write_text("these are not audio bytes, whatever the name says\n" * 10)
    with pytest.raises(RecordingError, match="judged by its first bytes"):
        await client.run_wellness_check(fake, user=USER, language="en-GB")
    assert sandbox.requests == []
    assert sandbox.runs_created() == 0


async def test_a_forced_internal_error_surfaces_with_code_reason_and_run_id(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """§3.4: a COMPLETE_ERROR run raises ModelRunFailedError carrying code, reason, run id."""
    sandbox.set_outcome("unlucky", "ERR_INTERNAL")
    user = User(user_label="unlucky", date_of_birth=dt.date(1980, 1, 1), birth_sex="UNKNOWN")
    with pytest.raises(ModelRunFailedError) as caught:
        await client.run_wellness_check(sample_recording(), user=user, language="en-GB")
    assert caught.value.error_code is ErrorCode.ERR_INTERNAL
    assert caught.value.error_reason
    fetched = await client.get_model_run(caught.value.model_run_id)
    assert fetched.error_code is ErrorCode.ERR_INTERNAL


async def test_the_workflow_is_create_upload_then_polls_until_finished(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """§2.3 to §5: one POST, one PUT, then GETs of the run until it is finished."""
    run = await client.run_wellness_check(sample_recording(), user=USER, language="en-GB")
    calls = [(r.host, r.method) for r in sandbox.requests]
    assert calls[:2] == [("api", "POST"), ("storage", "PUT")]
    assert set(calls[2:]) == {("api", "GET")}
    assert all(r.path.endswith(run.id) for r in sandbox.requests[2:])
    assert sandbox.runs_created("e2e-user") == 1


async def test_legacy_get_path_reads_the_same_run(sandbox: Sandbox) -> None:
    """D1: the legacy GET /v1/models/{id} is a client setting and returns the same run."""
    async with HeliosClient(
        sandbox.api_key, base_url=sandbox.base_url, legacy_get_path=True, poll=FAST_POLL
    ) as legacy:
        run = await legacy.run_wellness_check(sample_recording(), user=USER, language="en-GB")
    gets = [r.path for r in sandbox.requests if r.method == "GET"]
    assert gets and all(path == f"/v1/models/{run.id}" for path in gets)


async def test_account_is_read_with_the_key(client: HeliosClient) -> None:
    """§2.2: the account has an opaque id and a list of features."""
    account = await client.get_account()
    assert account.id
    assert isinstance(account.features, tuple)
