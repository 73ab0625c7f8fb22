"""The contract end to end: local pre-flight refusals, every §3.4 error code through the
sandbox, the Activity Plugin flow, and the documented quickstart calls (helios-api.md)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from recordings import recording

from helios_async import (
    ErrorCode,
    HeliosClient,
    InvalidInputError,
    ModelRunFailedError,
    ModelRunStatus,
    NotFoundError,
    PollPolicy,
    RecordingError,
    Tag,
    User,
)
from helios_async.testing import Sandbox, sample_recording

FAST_POLL = PollPolicy(first_interval=0.01, interval=0.02, timeout=10.0)
GOOD_USER: dict[str, Any] = {
    "user_label": "contract-user",
    "date_of_birth": dt.date(1990, 8, 24),
    "birth_sex": "FEMALE",
}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(processing_delay=0.02) as server:
        yield server


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[HeliosClient]:
    async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL) as c:
        yield c


def user(**changes: Any) -> User:
    return User(**{**GOOD_USER, **changes})


def text_file(tmp: Path) -> Path:
    path = tmp / "notes.mp3"
    path.write_text("plain text that claims to be an MP3 by its name\n")
    return path


def empty_file(tmp: Path) -> Path:
    path = tmp / "empty.wav"
    path.touch()
    return path


def long_wav(tmp: Path) -> Path:
    """A 181 s silent WAV header claiming 8 kHz 8-bit mono: too long by its header alone."""
    import wave

    path = tmp / "long.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 8000 * 181)
    return path


def future() -> dt.date:
    return dt.date.today() + dt.timedelta(days=1)


AWARE = dt.datetime(2026, 3, 26, 9, 30, tzinfo=dt.UTC)
NAIVE = dt.datetime(2026, 3, 26, 9, 30)

# (case id, field the error must name, a call that makes the request arguments)
BAD_INPUTS: list[tuple[str, str, Callable[[Path], dict[str, Any]]]] = [
    ("empty label", "user_label", lambda _: {"user": lambda: user(user_label="")}),
    ("blank label", "user_label", lambda _: {"user": lambda: user(user_label="   ")}),
    ("51-char label", "user_label", lambda _: {"user": lambda: user(user_label="x" * 51)}),
    ("label not a string", "user_label", lambda _: {"user": lambda: user(user_label=42)}),
    (
        "birth in the future",
        "date_of_birth",
        lambda _: {"user": lambda: user(date_of_birth=future())},
    ),
    (
        "birth as a string",
        "date_of_birth",
        lambda _: {"user": lambda: user(date_of_birth="1990-08-24")},
    ),
    ("birth as a datetime", "date_of_birth", lambda _: {"user": lambda: user(date_of_birth=NAIVE)}),
    (
        "birth before 1900",
        "date_of_birth",
        lambda _: {"user": lambda: user(date_of_birth=dt.date(1850, 1, 1))},
    ),
    ("birth sex OTHER", "birth_sex", lambda _: {"user": lambda: user(birth_sex="OTHER")}),
    (
        "birth sex UNSPECIFIED",
        "birth_sex",
        lambda _: {"user": lambda: user(birth_sex="UNSPECIFIED")},
    ),
    ("user as a dict", "user", lambda _: {"user": lambda: dict(GOOD_USER)}),
    ("language 'english'", "language", lambda _: {"language": "english"}),
    ("language 'en_GB'", "language", lambda _: {"language": "en_GB"}),
    ("language 'EN-gb'", "language", lambda _: {"language": "EN-gb"}),
    ("language empty", "language", lambda _: {"language": ""}),
    ("blank accent", "accent", lambda _: {"accent": "  "}),
    ("aware sleep time", "sleep_time", lambda _: {"sleep_time": AWARE}),
    ("aware wake time", "wake_time", lambda _: {"wake_time": AWARE}),
    ("aware recording time", "recording_time", lambda _: {"recording_time": AWARE}),
    ("sleep time as a string", "sleep_time", lambda _: {"sleep_time": "2026-03-26T09:30:00"}),
    ("21 tags", "tags", lambda _: {"tags": {f"t{i}": "v" for i in range(21)}}),
    ("duplicate tag names", "tags", lambda _: {"tags": [("site", "a"), ("site", "b")]}),
    ("empty tag name", "tags.name", lambda _: {"tags": {"": "v"}}),
    (
        "tag value not a string",
        "tags.value",
        lambda _: {"tags": [Tag(name="n", value="v"), ("m", 3)]},
    ),
    ("tags as a string", "tags", lambda _: {"tags": "site=depot"}),
    ("delete_data 'yes'", "delete_data", lambda _: {"delete_data": "yes"}),
    ("data_to_delete a string", "data_to_delete", lambda _: {"data_to_delete": "ALL"}),
    ("missing recording", "recording", lambda tmp: {"recording": tmp / "nope.wav"}),
    ("a directory", "recording", lambda tmp: {"recording": tmp}),
    ("empty recording", "recording", lambda tmp: {"recording": empty_file(tmp)}),
    ("text named .mp3", "recording", lambda tmp: {"recording": text_file(tmp)}),
    ("181 s recording", "recording", lambda tmp: {"recording": long_wav(tmp)}),
    ("1 s recording", "recording", lambda _: {"recording": recording("short.wav")}),
    ("text bytes", "recording", lambda _: {"recording": b"not audio at all" * 10}),
    ("non-seekable stream", "recording", lambda _: {"recording": _Unseekable()}),
    ("recording of wrong type", "recording", lambda _: {"recording": 12345}),
]


class _Unseekable(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize(("case", "field", "make"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
async def test_bad_input_is_refused_locally_naming_the_field_and_nothing_reaches_the_sandbox(
    client: HeliosClient,
    sandbox: Sandbox,
    tmp_path: Path,
    case: str,
    field: str,
    make: Callable[[Path], dict[str, Any]],
) -> None:
    """§6, D5, D7, D8, D9: each refusal is an InvalidInputError naming field and rule."""
    arguments: dict[str, Any] = {
        "recording": sample_recording(),
        "user": lambda: user(),
        "language": "en-GB",
    }
    arguments.update(make(tmp_path))

    async def build_and_check() -> None:
        arguments["user"] = arguments["user"]()  # a bad user is refused as it is built
        await client.run_wellness_check(**arguments)

    with pytest.raises(InvalidInputError) as caught:
        await build_and_check()
    assert caught.value.field.endswith(field), (case, caught.value.field)
    assert caught.value.rule and field in str(caught.value)
    if field == "recording":
        assert isinstance(caught.value, RecordingError)
    assert sandbox.requests == [], case


def test_there_are_at_least_25_bad_input_cases() -> None:
    """Issue 5: the table covers at least 25 distinct refusals."""
    assert len({case for case, _, _ in BAD_INPUTS}) >= 25


@pytest.mark.parametrize("code", [code.value for code in ErrorCode])
async def test_every_error_code_surfaces_as_model_run_failed_with_code_and_reason(
    client: HeliosClient, sandbox: Sandbox, code: str
) -> None:
    """§3.4: each documented errorCode reaches the caller with its code, reason and run id."""
    label = f"code-{code.lower()}"[:50]
    sandbox.set_outcome(label, code)
    with pytest.raises(ModelRunFailedError) as caught:
        await client.run_wellness_check(
            sample_recording(), user=user(user_label=label), language="en-GB"
        )
    error = caught.value
    assert error.error_code == ErrorCode(code) and error.error_code.is_known
    assert error.error_reason and code in str(error)
    assert (await client.get_model_run(error.model_run_id)).status is ModelRunStatus.COMPLETE_ERROR


async def test_garbage_uploaded_past_the_client_ends_invalid_format(
    client: HeliosClient,
) -> None:
    """§3.4: the sandbox judges what it receives; bytes in no audio format end INVALID_FORMAT."""
    created = await client.create_model_run(user=user(), language="en-GB")
    async with aiohttp.ClientSession() as raw:
        put = await raw.put(
            aiohttp.client.URL(created.recording_upload_url, encoded=True),
            data=b"definitely not audio" * 100,
            headers={"Content-Type": "audio/wav"},
        )
        put.release()
        assert put.status == 200
    run = await client.wait_for_model_run(created.id, timeout=5)
    assert run.error_code is ErrorCode.ERR_RECORDING_INVALID_FORMAT


async def test_an_unknown_error_code_is_kept_not_fatal(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """D11: a code the contract does not list is kept, with is_known False."""
    sandbox.set_outcome("odd-code", "ERR_SOMETHING_NEW")
    with pytest.raises(ModelRunFailedError) as caught:
        await client.run_wellness_check(
            sample_recording(), user=user(user_label="odd-code"), language="en-GB"
        )
    assert caught.value.error_code == "ERR_SOMETHING_NEW"
    assert caught.value.error_code is not None and not caught.value.error_code.is_known


async def test_activity_flow_creates_a_link_and_finishes_when_the_activity_is_done(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """§2.4, D4: E3 returns an id and activityLink; the run ends after the activity."""
    created = await client.create_activity_run(user=user(), language="en-GB", tags={"site": "x"})
    assert created.activity_link.startswith("http")
    assert created.raw["id"] == created.id
    pending = await client.get_model_run(created.id)
    assert pending.status is ModelRunStatus.CREATED
    sandbox.complete_activity(created.id)
    run = await client.wait_for_model_run(created.id, timeout=5)
    assert run.status is ModelRunStatus.COMPLETE_OK
    (post,) = [r for r in sandbox.requests if r.method == "POST"]
    assert post.path == "/v1/models/mental-wellness-activity"
    assert json.loads(post.body)["tags"] == [{"name": "site", "value": "x"}]


async def test_every_optional_create_field_travels_in_camel_case(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """§7 (all optional fields), D7, D8: accent, naive times, tags, deletion fields."""
    await client.create_model_run(
        user=user(),
        language="en-GB",
        accent="scottish",
        sleep_time=dt.datetime(2026, 3, 25, 23, 10),
        wake_time=dt.datetime(2026, 3, 26, 6, 45),
        recording_time=dt.datetime(2026, 3, 26, 9, 30),
        tags={"site": "depot-7", "shift": "early"},
        delete_data=True,
        data_to_delete=["RECORDINGS"],
    )
    (post,) = [r for r in sandbox.requests if r.method == "POST"]
    assert json.loads(post.body) == {
        "user": {"userLabel": "contract-user", "dateOfBirth": "1990-08-24", "birthSex": "FEMALE"},
        "language": "en-GB",
        "accent": "scottish",
        "sleepTime": "2026-03-25T23:10:00",
        "wakeTime": "2026-03-26T06:45:00",
        "recordingTime": "2026-03-26T09:30:00",
        "tags": [{"name": "site", "value": "depot-7"}, {"name": "shift", "value": "early"}],
        "deleteData": True,
        "dataToDelete": ["RECORDINGS"],
    }
    assert post.status == 200


async def test_deleted_run_is_not_found_12_hours_after_completion() -> None:
    """§6.5: with deleteData, GET gives 404 twelve hours after the run completes."""
    now = [dt.datetime(2026, 3, 26, 9, 30, tzinfo=dt.UTC)]
    async with (
        Sandbox(clock=lambda: now[0]) as sandbox,
        HeliosClient(sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL) as client,
    ):
        run = await client.run_wellness_check(
            sample_recording(), user=user(), language="en-GB", delete_data=True
        )
        assert run.delete_data is True
        now[0] += dt.timedelta(hours=11, minutes=59)
        assert (await client.get_model_run(run.id)).status is ModelRunStatus.COMPLETE_OK
        now[0] += dt.timedelta(minutes=2)
        with pytest.raises(NotFoundError) as caught:
            await client.get_model_run(run.id)
        assert caught.value.status == 404 and caught.value.request_id


async def test_the_documented_quickstart_calls_work_against_the_sandbox(sandbox: Sandbox) -> None:
    """§1.2, §1.3, §4, §7: the quickstart's curl calls, made with plain aiohttp."""
    key = {"x-api-key": sandbox.api_key}
    async with aiohttp.ClientSession(base_url=sandbox.base_url) as http:
        # curl /v1/account -H 'x-api-key: ...' -H 'Content-Type: application/json' -d '{}'
        async with http.get(
            "/v1/account", headers={**key, "Content-Type": "application/json"}, data=b"{}"
        ) as response:
            assert response.status == 200
            assert set(await response.json()) >= {"id", "features"}
        # curl -X POST /v1/models/mental-wellness -H 'x-api-key: ...' --json '{...}'
        body = {
            "user": {
                "userLabel": "42baba59-fa4a-4a22-ba1c-2e4a88a3badb",
                "dateOfBirth": "1990-08-24",
                "birthSex": "MALE",
            },
            "language": "en-GB",
        }
        async with http.post("/v1/models/mental-wellness", headers=key, json=body) as response:
            assert response.status == 200
            created = await response.json()
        assert set(created) == {"id", "recordingUploadUrl"}
        # curl "$URL" -X PUT -H 'Content-Type: audio/mpeg' --data-binary '@recording.mp3'
        mp3 = recording("speech-en.mp3").read_bytes()
        async with (
            aiohttp.ClientSession() as storage,
            storage.put(
                aiohttp.client.URL(created["recordingUploadUrl"], encoded=True),
                data=mp3,
                headers={"Content-Type": "audio/mpeg"},
            ) as response,
        ):
            assert response.status == 200
        # curl /v1/models/mental-wellness/$ID -H 'x-api-key: ...'
        for _ in range(200):
            async with http.get(f"/v1/models/mental-wellness/{created['id']}", headers=key) as r:
                run = await r.json()
            if run["status"] in ("COMPLETE_OK", "COMPLETE_ERROR"):
                break
        assert run["status"] == "COMPLETE_OK"
        assert run["results"]["sections"][0]["finishSecs"] == pytest.approx(18.47, abs=0.3)
