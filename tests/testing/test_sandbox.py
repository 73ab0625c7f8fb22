"""helios_async.testing.Sandbox: the API host, the run lifecycle and outcomes, test controls.

Each test names the behaviour and the section of helios-api.md it follows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import wave
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from recordings import recording
from sandbox_helpers import START, Api, FakeClock

from helios_async import HeliosClient, User
from helios_async.testing import RecordedRequest, Sandbox, sample_recording

BUCKETED = ("distress", "stress", "exhaustion", "sleepPropensity", "lowSelfEsteem")
CONTINUOUS = (
    "mentalStrain",
    "uniformDistress",
    "uniformStress",
    "uniformExhaustion",
    "uniformSleepPropensity",
    "uniformLowSelfEsteem",
)
RUN_KEYS = {
    "id",
    "createdAt",
    "status",
    "userLabel",
    "deleteData",
    "runAt",
    "completedAt",
    "errorReason",
    "warnings",
    "results",
    "errorCode",
}
TOO_SHORT_REASON = (
    "Recording supplied is too short. Please supply a recording containing at least 10 "
    "seconds of speech and that is under 3 minutes in length."
)


def _tone_wav(seconds: float, rate: int = 1000) -> bytes:
    """An 8-bit mono WAV of a loud square wave, ``seconds`` long."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(rate)
        writer.writeframes(bytes([32, 224]) * int(seconds * rate / 2))
    return out.getvalue()


# ----------------------------------------------------------------------------- lifecycle


async def test_listeners_start_on_free_ports_and_close_releases_them() -> None:
    """D16: two listeners (API and storage); close() frees both ports and is idempotent."""
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.base_url
    async with sandbox:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.base_url)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.storage_url)
        assert sandbox.base_url != sandbox.storage_url
        ports = [int(url.rsplit(":", 1)[1]) for url in (sandbox.base_url, sandbox.storage_url)]
        assert sandbox.api_key.startswith("sandbox-")
    await sandbox.close()  # idempotent
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)
    with pytest.raises(RuntimeError):
        _ = sandbox.storage_url
    with pytest.raises(RuntimeError, match="only once"):
        await sandbox.start()
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_close_drops_idle_keep_alive_connections() -> None:
    """Nothing leaks: a client's open keep-alive connection is closed by the sandbox."""
    async with Sandbox(api_key="k") as sandbox:
        port = int(sandbox.base_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /v1/account HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    try:
        # The rest of the response, then EOF: the server hung up (a hang would time out).
        rest = await asyncio.wait_for(reader.read(), timeout=2)
        assert b'"features"' in rest
        assert reader.at_eof()
    finally:
        writer.close()
        await writer.wait_closed()


def test_sample_recording_is_shipped_with_the_package() -> None:
    """sample_recording() points at the packaged copy of the shared speech-en.ogg."""
    path = sample_recording()
    assert path.is_file()
    assert path.parts[-3:] == ("testing", "_data", "speech-en.ogg")
    assert path.read_bytes() == recording("speech-en.ogg").read_bytes()


def test_constructor_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="processing_delay"):
        Sandbox(processing_delay=-1)
    with pytest.raises(ValueError, match="upload_url_ttl"):
        Sandbox(upload_url_ttl=0)
    with pytest.raises(ValueError, match="api_key"):
        Sandbox(api_key=" ")


# ----------------------------------------------------------------------------- auth, account


async def test_missing_key_is_403_forbidden(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    """D3: no x-api-key header -> 403 {"message":"Forbidden"} (the gateway's answer)."""
    for path in ("/v1/account", "/v1/models/mental-wellness/x", "/v1/nowhere"):
        async with http.get(sandbox.base_url + path) as response:
            assert response.status == 403
            assert await response.json() == {"message": "Forbidden"}


async def test_wrong_key_is_401_with_detail(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    """D3: an unknown key -> 401 with a FastAPI-style {"detail": str}."""
    async with http.post(
        sandbox.base_url + "/v1/models/mental-wellness", headers={"x-api-key": "nope"}, json={}
    ) as response:
        assert response.status == 401
        body = await response.json()
        assert set(body) == {"detail"}
        assert isinstance(body["detail"], str)
    assert sandbox.runs_created() == 0


async def test_account_tolerates_json_content_type_and_empty_object(api: Api) -> None:
    """E1, §1.3, §2.2: GET /v1/account with Content-Type json and a {} body -> id, features."""
    async with api.session.get(
        api.sandbox.base_url + "/v1/account", headers=api.headers, json={}
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        body = await response.json()
    assert isinstance(body["id"], str)
    assert body["id"]
    assert isinstance(body["features"], list)
    assert all(isinstance(feature, str) for feature in body["features"])


async def test_every_api_response_carries_a_fresh_request_id(api: Api) -> None:
    """Every API response, errors included, has an x-request-id header, new each time."""
    base = api.sandbox.base_url
    seen: list[str] = []
    for headers, path in [
        (api.headers, "/v1/account"),
        ({}, "/v1/account"),
        ({"x-api-key": "wrong"}, "/v1/account"),
        (api.headers, "/v1/models/mental-wellness/not-a-uuid"),
        (api.headers, "/v1/models/mental-wellness/ddebd75b-99b3-42b4-ac65-5ce852c688e9"),
        (api.headers, "/v1/unknown"),
    ]:
        async with api.session.get(base + path, headers=headers) as response:
            seen.append(response.headers["x-request-id"])
    assert len(set(seen)) == len(seen)


async def test_unknown_routes_and_methods_answer_like_fastapi(api: Api) -> None:
    """§2.1: no invented routes: unknown paths are 404, other methods 405 (FastAPI bodies)."""
    base = api.sandbox.base_url
    async with api.session.get(base + "/v1/models", headers=api.headers) as response:
        assert (response.status, await response.json()) == (404, {"detail": "Not Found"})
    run = await api.create()
    async with api.session.delete(
        f"{base}/v1/models/mental-wellness/{run['id']}", headers=api.headers
    ) as response:
        assert response.status == 405
        assert await response.json() == {"detail": "Method Not Allowed"}


# ----------------------------------------------------------------------------- GET errors


async def test_get_with_a_non_uuid_id_is_a_422_path_error(api: Api) -> None:
    """§2.5: the path parameter is format uuid, so FastAPI answers 422 on both GET paths."""
    for legacy in (False, True):
        status, body = await api.get("run-42", legacy=legacy)
        assert status == 422
        assert body["detail"][0]["loc"] == ["path", "model_run_id"]
        assert {"msg", "type"} <= set(body["detail"][0])


async def test_get_of_an_unknown_id_is_404_model_run_not_found(api: Api) -> None:
    """§2.5, §7: an unknown uuid -> 404 {"detail": "Model run not found"}."""
    status, body = await api.get("ddebd75b-99b3-42b4-ac65-5ce852c688e9")
    assert (status, body) == (404, {"detail": "Model run not found"})


# ----------------------------------------------------------------------------- lifecycle


async def test_created_run_has_every_documented_key_null_until_set(api: Api) -> None:
    """§2.5, §7: CREATED until upload; all documented keys present, nullable ones null,
    timestamps ISO 8601 with +00:00 from the sandbox clock."""
    created = await api.create(label="operator-1234")
    assert set(created) == {"id", "recordingUploadUrl"}
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", created["id"]
    )
    status, run = await api.get(created["id"])
    assert status == 200
    assert run == {
        "id": created["id"],
        "createdAt": "2026-03-26T09:30:05+00:00",
        "status": "CREATED",
        "userLabel": "operator-1234",
        "deleteData": False,
        "runAt": None,
        "completedAt": None,
        "errorReason": None,
        "warnings": None,
        "results": None,
        "errorCode": None,
    }


async def test_upload_then_processing_delay_then_complete(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """§3.1: CREATED -> RUNNING at upload (runAt) -> COMPLETE_OK after processing_delay
    seconds (completedAt = runAt + delay), computed from the injectable clock."""
    async with Sandbox(clock=clock, processing_delay=30) as sandbox:
        api = Api(http, sandbox)
        created = await api.create()
        clock.advance(5)
        assert await api.upload(created["recordingUploadUrl"], sample_recording().read_bytes())
        _, run = await api.get(created["id"])
        assert (run["status"], run["runAt"], run["completedAt"]) == (
            "RUNNING",
            "2026-03-26T09:30:10+00:00",
            None,
        )
        assert run["results"] is None
        clock.advance(29.5)
        assert (await api.get(created["id"]))[1]["status"] == "RUNNING"
        clock.advance(0.5)
        _, run = await api.get(created["id"])
    assert run["status"] == "COMPLETE_OK"
    assert run["completedAt"] == "2026-03-26T09:30:40+00:00"
    assert set(run) == RUN_KEYS


async def test_processing_delay_with_the_real_clock(http: aiohttp.ClientSession) -> None:
    """§3.1 with the default wall clock: a polled run completes after the delay."""
    async with Sandbox(processing_delay=0.2) as sandbox:
        api = Api(http, sandbox)
        created = await api.create()
        await api.upload(created["recordingUploadUrl"], sample_recording().read_bytes())
        statuses = []
        for _ in range(40):
            statuses.append((await api.get(created["id"]))[1]["status"])
            if statuses[-1] == "COMPLETE_OK":
                break
            await asyncio.sleep(0.05)
    assert statuses[0] == "RUNNING"
    assert statuses[-1] == "COMPLETE_OK"


@pytest.mark.parametrize("suffix", ["wav", "flac", "mp3", "ogg"])
async def test_speech_completes_ok_with_scores_in_range(api: Api, audio: Path, suffix: str) -> None:
    """§3.3, D6, D16: one section 0..duration, a simulated transcript, five bucketed scores
    from {0, 0.33, 0.66, 1}, six continuous ones in [0, 1], a 'simulated' warning."""
    run = await api.run_with((audio / f"speech-en.{suffix}").read_bytes())
    assert run["status"] == "COMPLETE_OK"
    assert run["errorCode"] is None
    assert run["errorReason"] is None
    assert any("simulated by the helios-async sandbox" in text for text in run["warnings"])
    (section,) = run["results"]["sections"]
    assert section["startSecs"] == 0
    assert section["finishSecs"] == pytest.approx(18.4, abs=0.1)
    assert "simulated" in section["transcript"]
    for name in BUCKETED:
        assert section[name]["value"] in (0.0, 0.33, 0.66, 1.0)
    for name in CONTINUOUS:
        assert 0.0 <= section[name]["value"] <= 1.0
    assert set(section) == {"startSecs", "finishSecs", "transcript", *BUCKETED, *CONTINUOUS}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (recording("short.wav").read_bytes(), "ERR_RECORDING_TOO_SHORT"),
        (recording("silence-15s.wav").read_bytes(), "ERR_TRANSCRIPTION_FAILED"),
        (b"This is a text file, not a recording.\n" * 50, "ERR_RECORDING_INVALID_FORMAT"),
        (_tone_wav(180.0), "ERR_RECORDING_TOO_LONG"),
    ],
    ids=["short", "silence", "text", "180s"],
)
async def test_recording_problems_end_in_complete_error(api: Api, data: bytes, code: str) -> None:
    """§3.4, D9: format from magic bytes, < 10 s too short, >= 180 s too long, digital
    silence fails transcription; results null, completedAt set."""
    run = await api.run_with(data)
    assert run["status"] == "COMPLETE_ERROR"
    assert run["errorCode"] == code
    assert isinstance(run["errorReason"], str)
    assert run["errorReason"]
    assert run["results"] is None
    assert run["completedAt"] == run["runAt"]
    if code == "ERR_RECORDING_TOO_SHORT":
        assert run["errorReason"] == TOO_SHORT_REASON  # the documented text, verbatim


async def test_just_under_three_minutes_is_accepted(api: Api) -> None:
    """D9: 'under 180 s' passes; the section ends at the recording's length."""
    run = await api.run_with(_tone_wav(179.0))
    assert run["status"] == "COMPLETE_OK"
    assert run["results"]["sections"][0]["finishSecs"] == 179.0


async def test_set_outcome_forces_an_error_code_for_a_label(api: Api) -> None:
    """§3.4: set_outcome makes ERR_INTERNAL (or any code) reachable for one userLabel."""
    api.sandbox.set_outcome("flaky-user", "ERR_INTERNAL")
    speech = sample_recording().read_bytes()
    forced = await api.run_with(speech, label="flaky-user")
    other = await api.run_with(speech, label="fine-user")
    assert (forced["status"], forced["errorCode"]) == ("COMPLETE_ERROR", "ERR_INTERNAL")
    assert "support@thymia.ai" in forced["errorReason"]
    assert other["status"] == "COMPLETE_OK"
    api.sandbox.set_outcome("flaky-user", None)
    assert (await api.run_with(speech, label="flaky-user"))["status"] == "COMPLETE_OK"


async def test_results_are_deterministic_for_the_same_audio(
    api: Api, http: aiohttp.ClientSession, audio: Path
) -> None:
    """D16: the same bytes give the same results, in this and in another sandbox; other
    bytes give other scores."""
    speech = (audio / "speech-en.wav").read_bytes()
    first = await api.run_with(speech)
    second = await api.run_with(speech, label="someone-else")
    async with Sandbox() as other_sandbox:
        third = await Api(http, other_sandbox).run_with(speech)
    assert first["results"] == second["results"] == third["results"]
    assert first["warnings"] == third["warnings"]
    different = await api.run_with((audio / "speech-en.flac").read_bytes())
    assert different["results"] != first["results"]


async def test_legacy_path_serves_the_same_run(api: Api) -> None:
    """D1, §2.6: GET /v1/models/{id} is an alias of /v1/models/mental-wellness/{id}."""
    run = await api.run_with(sample_recording().read_bytes())
    status, legacy = await api.get(run["id"], legacy=True)
    assert status == 200
    assert legacy == run


async def test_delete_data_runs_vanish_12_hours_after_completion(
    api: Api, clock: FakeClock
) -> None:
    """§6.5: with deleteData the run is 404 from 12 h after completedAt; without, it stays."""
    deleted = await api.create(label="forget-me", deleteData=True)
    kept = await api.create(label="keep-me")
    speech = sample_recording().read_bytes()
    for created in (deleted, kept):
        assert await api.upload(created["recordingUploadUrl"], speech) == 200
    status, run = await api.get(deleted["id"])
    assert (status, run["deleteData"], run["status"]) == (200, True, "COMPLETE_OK")
    clock.advance(12 * 3600 - 1)
    assert (await api.get(deleted["id"]))[0] == 200
    clock.advance(1)
    assert await api.get(deleted["id"]) == (404, {"detail": "Model run not found"})
    assert await api.get(deleted["id"], legacy=True) == (404, {"detail": "Model run not found"})
    assert (await api.get(kept["id"]))[0] == 200
    clock.advance(30 * 24 * 3600)
    assert (await api.get(kept["id"]))[0] == 200


async def test_delete_data_clock_starts_at_completion_not_creation(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """§6.5: the 12 h run from completion; an unfinished run is never deleted."""
    async with Sandbox(clock=clock, processing_delay=3600) as sandbox:
        api = Api(http, sandbox)
        created = await api.create(deleteData=True)
        clock.advance(50 * 60)  # still inside the URL's hour (§4)
        assert (await api.get(created["id"]))[1]["status"] == "CREATED"
        speech = sample_recording().read_bytes()
        assert await api.upload(created["recordingUploadUrl"], speech) == 200
        clock.advance(3600 + 12 * 3600 - 1)
        assert (await api.get(created["id"]))[1]["status"] == "COMPLETE_OK"
        clock.advance(1)
        assert (await api.get(created["id"]))[0] == 404


# ----------------------------------------------------------------------------- activity flow


async def test_activity_run_completes_when_the_test_says_so(api: Api) -> None:
    """E3, D4: {"id", "activityLink"}; CREATED until complete_activity(), then as an upload."""
    body: dict[str, Any] = {
        "user": {"userLabel": "u-1", "dateOfBirth": "1985-01-01", "birthSex": "FEMALE"},
        "language": "en-GB",
    }
    async with api.session.post(
        api.sandbox.base_url + "/v1/models/mental-wellness-activity", json=body, headers=api.headers
    ) as response:
        assert response.status == 200
        created = await response.json()
    assert set(created) == {"id", "activityLink"}
    assert created["activityLink"].startswith("http://")
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"
    api.sandbox.complete_activity(created["id"])
    _, run = await api.get(created["id"])
    assert run["status"] == "COMPLETE_OK"
    with pytest.raises(ValueError, match="already"):
        api.sandbox.complete_activity(created["id"])
    upload_run = await api.create()
    with pytest.raises(ValueError, match="upload"):
        api.sandbox.complete_activity(upload_run["id"])
    with pytest.raises(KeyError):
        api.sandbox.complete_activity("ddebd75b-99b3-42b4-ac65-5ce852c688e9")


async def test_activity_recording_bytes_are_analysed(api: Api, audio: Path) -> None:
    """§3.4 applies to the activity's recording too."""
    async with api.session.post(
        api.sandbox.base_url + "/v1/models/mental-wellness-activity",
        json={
            "user": {"userLabel": "u", "dateOfBirth": "1985-01-01", "birthSex": "UNKNOWN"},
            "language": "en-GB",
        },
        headers=api.headers,
    ) as response:
        run_id = (await response.json())["id"]
    api.sandbox.complete_activity(run_id, (audio / "short.wav").read_bytes())
    assert (await api.get(run_id))[1]["errorCode"] == "ERR_RECORDING_TOO_SHORT"


# ----------------------------------------------------------------------------- bookkeeping


async def test_runs_created_counts_per_label(api: Api) -> None:
    await api.create(label="a")
    await api.create(label="a")
    await api.create(label="b")
    assert api.sandbox.runs_created() == 3
    assert api.sandbox.runs_created("a") == 2
    assert api.sandbox.runs_created("zzz") == 0


async def test_requests_are_recorded_in_order_on_both_hosts(api: Api) -> None:
    """Every request on either host is logged: host, method, raw URL, headers, body, status."""
    speech = sample_recording().read_bytes()
    created = await api.create(label="logged")
    await api.upload(created["recordingUploadUrl"], speech)
    await api.get(created["id"])
    log = api.sandbox.requests
    assert [(r.host, r.method, r.status) for r in log] == [
        ("api", "POST", 200),
        ("storage", "PUT", 200),
        ("api", "GET", 200),
    ]
    post, put, get = log
    assert isinstance(post, RecordedRequest)
    assert post.path == "/v1/models/mental-wellness"
    assert post.url == api.sandbox.base_url + "/v1/models/mental-wellness"
    assert post.headers["X-API-KEY"] == api.sandbox.api_key  # case-insensitive copy
    assert b'"userLabel": "logged"' in post.body
    assert post.body_size == len(post.body)
    assert put.url == created["recordingUploadUrl"]  # raw target, unchanged
    assert put.body == speech
    assert put.body_size == len(speech)
    assert put.headers["Content-Type"] == "audio/ogg"
    assert "x-api-key" not in put.headers
    assert not put.chunked
    assert get.body == b""
    assert get.received_at == START
    api.sandbox.requests.clear()
    assert api.sandbox.requests == []


async def test_a_recorded_request_s_repr_hides_the_key_the_signature_and_the_body() -> None:
    """A test that prints ``sandbox.requests`` (or a failing assert that shows one) shows
    no API key, no presigned signature and no body (a create's holds the label); the
    attributes keep everything as received."""
    user = User(user_label="repr-label-4k2", date_of_birth=dt.date(1990, 1, 1), birth_sex="MALE")
    async with Sandbox() as sandbox:
        async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url) as client:
            await client.run_wellness_check(sample_recording(), user=user, language="en-GB")
        create = next(r for r in sandbox.requests if r.method == "POST")
        upload = next(r for r in sandbox.requests if r.host == "storage")
    assert create.headers["x-api-key"] == sandbox.api_key  # the attributes are untouched
    assert b"repr-label-4k2" in create.body
    query = upload.url.partition("?")[2]
    assert "Signature=" in query
    signature = re.search(r"Signature=([^&]+)", query)
    assert signature is not None
    for request in (create, upload):
        shown = repr(request)
        assert sandbox.api_key not in shown and "<redacted>" in shown
        assert signature.group(1) not in shown and query not in shown
        assert "repr-label-4k2" not in shown
        assert f"<{len(request.body)} bytes, redacted>" in shown
    assert "x-api-key" in repr(create)  # the header is named, its value hidden
