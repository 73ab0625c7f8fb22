"""The sandbox's storage host refuses an upload that breaks the contract's upload rule the way
strict object storage would, so a client that regresses fails loudly (D14, D16).

Real HTTP through the sandbox with a raw aiohttp session: no client library involved.
"""

from __future__ import annotations

import aiohttp
import pytest
import recordings
import yarl
from sandbox_helpers import Api, FakeClock

from helios_async.testing import Sandbox, sample_recording

SPEECH = sample_recording().read_bytes()


async def _put(
    api: Api, url: str, data: bytes, headers: dict[str, str], **options: object
) -> tuple[int, str]:
    """PUT ``data`` to ``url`` exactly as given; returns (status, body text)."""
    async with api.session.put(
        yarl.URL(url, encoded=True), data=data, headers=headers, **options
    ) as response:
        return response.status, await response.text()


def _storage_requests(sandbox: Sandbox) -> list[object]:
    return [request for request in sandbox.requests if request.host == "storage"]


@pytest.mark.parametrize("name", ["x-api-key", "X-Api-Key"])
async def test_a_put_carrying_the_api_key_is_refused_400_without_echoing_it(
    api: Api, name: str
) -> None:
    """D14: the key must never reach storage: 400 InvalidRequest saying so, the key's value
    nowhere in the answer; the run stays CREATED and the refusal is in Sandbox.requests."""
    created = await api.create()
    headers = {"Content-Type": "audio/ogg", name: api.sandbox.api_key}
    status, text = await _put(api, created["recordingUploadUrl"], SPEECH, headers)
    assert status == 400
    assert "<Code>InvalidRequest</Code>" in text
    assert "API key must never be sent to storage" in text
    assert api.sandbox.api_key not in text
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"
    (put,) = _storage_requests(api.sandbox)
    assert put.status == 400
    assert put.headers["x-api-key"] == api.sandbox.api_key  # recorded as received
    assert api.sandbox.api_key not in repr(put)


async def test_the_api_key_is_refused_before_the_url_is_even_checked(api: Api) -> None:
    """Leaking the key is the worst fault, so it is what the answer names, even on an
    unsigned URL or a GET."""
    created = await api.create()
    bare = created["recordingUploadUrl"].split("?")[0]
    key = {"x-api-key": "some-other-key"}
    for method in ("PUT", "GET"):
        async with api.session.request(method, bare, data=b"x", headers=key) as response:
            assert response.status == 400
            text = await response.text()
            assert "<Code>InvalidRequest</Code>" in text
            assert "some-other-key" not in text


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/octet-stream", "audio/x-wav", "audio/mp3", "audio", ""],
)
async def test_a_content_type_outside_the_six_is_refused_400(api: Api, content_type: str) -> None:
    """D14: the Content-Type names the recording's format, one of six media types; anything
    else (also common aliases such as audio/x-wav) is 400 InvalidArgument naming the header."""
    created = await api.create()
    headers = {"Content-Type": content_type}
    status, text = await _put(api, created["recordingUploadUrl"], SPEECH, headers)
    assert status == 400
    assert "<Code>InvalidArgument</Code>" in text
    assert "<ArgumentName>Content-Type</ArgumentName>" in text
    assert "audio/ogg" in text  # the message lists what is accepted
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"
    (put,) = _storage_requests(api.sandbox)
    assert (put.status, put.body_size) == (400, 0)  # refused before the body was read


async def test_a_put_without_content_type_is_refused_400(api: Api) -> None:
    """D14: no Content-Type at all is refused like a wrong one, and recorded."""
    created = await api.create()
    status, text = await _put(
        api, created["recordingUploadUrl"], SPEECH, {}, skip_auto_headers={"Content-Type"}
    )
    assert status == 400
    assert "<Code>InvalidArgument</Code>" in text
    (put,) = _storage_requests(api.sandbox)
    assert "Content-Type" not in put.headers
    assert put.status == 400
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"


@pytest.mark.parametrize("content_type", ["AUDIO/OGG", "audio/ogg; codecs=vorbis"])
async def test_the_media_type_is_compared_without_case_or_parameters(
    api: Api, content_type: str
) -> None:
    created = await api.create()
    status, _ = await _put(
        api, created["recordingUploadUrl"], SPEECH, {"Content-Type": content_type}
    )
    assert status == 200
    assert (await api.get(created["id"]))[1]["status"] == "COMPLETE_OK"


async def test_the_url_is_checked_before_the_content_type(api: Api) -> None:
    """An unsigned or altered URL gets storage's 403 whatever the headers: a stranger learns
    nothing about the upload rules."""
    created = await api.create()
    tampered = created["recordingUploadUrl"].replace("Expires=3600", "Expires=7200")
    status, text = await _put(api, tampered, SPEECH, {"Content-Type": "text/plain"})
    assert status == 403
    assert "SignatureDoesNotMatch" in text


async def test_a_type_that_disagrees_with_the_bytes_is_left_to_the_analysis(api: Api) -> None:
    """Decision: storage cannot know what the bytes are (S3 does not look), so WAV bytes sent
    as audio/mpeg are stored (200); the analysis judges the bytes by their content."""
    created = await api.create()
    wav = recordings.recording("speech-en.wav").read_bytes()
    status, _ = await _put(api, created["recordingUploadUrl"], wav, {"Content-Type": "audio/mpeg"})
    assert status == 200
    assert (await api.get(created["id"]))[1]["status"] == "COMPLETE_OK"


async def test_a_second_put_while_running_is_stored_but_restarts_nothing(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """Decision: a re-upload after the run left CREATED gets 200 (storage overwrites; a
    client's retry of an upload whose 200 was lost must not fail), but the run keeps its
    first recording: same runAt, same completedAt, same outcome."""
    async with Sandbox(clock=clock, processing_delay=60) as sandbox:
        api = Api(http, sandbox)
        created = await api.create()
        assert await api.upload(created["recordingUploadUrl"], SPEECH) == 200
        clock.advance(30)
        running = (await api.get(created["id"]))[1]
        assert running["status"] == "RUNNING"
        assert await api.upload(created["recordingUploadUrl"], b"not audio at all") == 200
        assert (await api.get(created["id"]))[1] == running
        clock.advance(30)
        done = (await api.get(created["id"]))[1]
        assert done["status"] == "COMPLETE_OK"
        assert done["runAt"] == running["runAt"]
        assert sandbox.runs_started() == 1
        assert [put.status for put in _storage_requests(sandbox)] == [200, 200]


async def test_a_second_put_breaking_the_rules_is_still_refused(api: Api) -> None:
    """The rules hold for a re-upload too: a used URL does not relax them."""
    created = await api.create()
    assert await api.upload(created["recordingUploadUrl"], SPEECH) == 200
    status, _ = await _put(
        api, created["recordingUploadUrl"], SPEECH, {"Content-Type": "text/plain"}
    )
    assert status == 400
