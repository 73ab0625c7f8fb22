"""The sandbox's storage host answers presigned-URL uploads like object storage does
(helios-api.md §4, D14, D16)."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
import yarl
from multidict import CIMultiDictProxy
from sandbox_helpers import Api, FakeClock

from helios_async.testing import Sandbox, sample_recording

SPEECH = sample_recording().read_bytes()
OGG = {"Content-Type": "audio/ogg"}


async def _put(
    session: aiohttp.ClientSession, url: str | yarl.URL, data: object, **headers: str
) -> tuple[int, str, CIMultiDictProxy[str]]:
    target = url if isinstance(url, yarl.URL) else yarl.URL(url, encoded=True)
    async with session.put(target, data=data, headers=headers) as response:
        return response.status, await response.text(), response.headers


async def _raw_request(url: str, head: str) -> bytes:
    """Send ``head`` (request line + headers, no body) over a bare socket; return the reply."""
    parsed = yarl.URL(url, encoded=True)
    reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
    try:
        writer.write(head.encode("latin-1"))
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_upload_succeeds_with_200_empty_body_and_etag(api: Api) -> None:
    """D16: a PUT of the raw bytes to the URL exactly as returned -> 200, empty body, ETag."""
    created = await api.create()
    status, text, headers = await _put(
        api.session, created["recordingUploadUrl"], SPEECH, **{"Content-Type": "audio/ogg"}
    )
    assert (status, text) == (200, "")
    assert headers["ETag"] == f'"{hashlib.md5(SPEECH, usedforsecurity=False).hexdigest()}"'
    assert (await api.get(created["id"]))[1]["status"] == "COMPLETE_OK"


async def test_presigned_url_shape(api: Api) -> None:
    """§4: path carries the run id; query has an expiry and an HMAC signature, with
    percent-encoded characters (%2F, %3D) that must reach the server unchanged (D14)."""
    created = await api.create()
    url = yarl.URL(created["recordingUploadUrl"], encoded=True)
    assert str(url).startswith(api.sandbox.storage_url)
    assert created["id"] in url.raw_path
    query = url.raw_query_string
    assert "X-Sandbox-Expires=3600" in query
    assert "X-Sandbox-Credential=sandbox%2F20260326%2F" in query
    assert "X-Sandbox-Date=20260326T093005Z" in query
    assert query.rsplit("&", 1)[1].startswith("X-Sandbox-Signature=")
    assert query.endswith("%3D")
    assert "x-api-key" not in created["recordingUploadUrl"].lower()


async def test_requoted_url_is_refused_403(api: Api) -> None:
    """D14: a client that lets yarl re-quote the URL (%2F -> /) breaks the signature: 403
    SignatureDoesNotMatch, as S3 answers; the run stays CREATED."""
    created = await api.create()
    requoted = yarl.URL(created["recordingUploadUrl"])  # not encoded=True: decodes %2F
    assert str(requoted) != created["recordingUploadUrl"]
    status, text, _ = await _put(api.session, requoted, SPEECH)
    assert status == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in text
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url.replace("X-Sandbox-Expires=3600", "X-Sandbox-Expires=7200"),
        lambda url: url.replace("%2F", "%2f", 1),
        lambda url: url[:-4] + ("A" if url[-4] != "A" else "B") + url[-3:],
        lambda url: url + "&extra=1",
        lambda url: url.replace("/recordings/", "/recordings//"),
    ],
    ids=["expires", "escape-case", "signature", "extra-param", "path"],
)
async def test_tampered_url_is_refused_403(api: Api, tamper: object) -> None:
    """D16: any change to the path or query is refused with 403, in S3's XML error form."""
    created = await api.create()
    assert callable(tamper)
    status, text, headers = await _put(api.session, tamper(created["recordingUploadUrl"]), SPEECH)
    assert status == 403
    assert text.startswith("<?xml")
    assert "<Error><Code>" in text
    assert headers["Content-Type"].startswith("application/xml")
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"


async def test_url_of_another_run_does_not_open_this_one(api: Api) -> None:
    """D16: the signature binds the run id: swapping ids is a 403."""
    first, second = await api.create(), await api.create()
    swapped = first["recordingUploadUrl"].replace(first["id"], second["id"])
    status, text, _ = await _put(api.session, swapped, SPEECH)
    assert status == 403
    assert "SignatureDoesNotMatch" in text


async def test_unsigned_requests_are_access_denied(api: Api) -> None:
    """Object storage refuses anything without a signature, whatever the method."""
    created = await api.create()
    bare = created["recordingUploadUrl"].split("?")[0]
    for method in ("PUT", "GET", "DELETE"):
        async with api.session.request(method, bare, data=b"x") as response:
            assert response.status == 403
            assert "<Code>AccessDenied</Code>" in await response.text()
    async with api.session.get(yarl.URL(created["recordingUploadUrl"], encoded=True)) as response:
        assert response.status == 403  # signed for PUT only


async def test_expired_url_is_refused_403(api: Api, clock: FakeClock) -> None:
    """§4: the URL is valid one hour; afterwards 403 AccessDenied "Request has expired",
    and the run stays CREATED (§3.1: no status covers an expired upload)."""
    created = await api.create()
    clock.advance(3600 - 0.001)
    still_valid = await api.create()
    clock.advance(0.001)
    status, text, _ = await _put(api.session, created["recordingUploadUrl"], SPEECH)
    assert status == 403
    assert "<Code>AccessDenied</Code>" in text
    assert "Request has expired" in text
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"
    assert await api.upload(still_valid["recordingUploadUrl"], SPEECH) == 200


async def test_upload_url_ttl_is_configurable(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with Sandbox(clock=clock, upload_url_ttl=60) as sandbox:
        api = Api(http, sandbox)
        created = await api.create()
        assert "X-Sandbox-Expires=60&" in created["recordingUploadUrl"]
        clock.advance(60)
        assert await api.upload(created["recordingUploadUrl"], SPEECH) == 403


async def test_chunked_upload_is_refused_501(api: Api) -> None:
    """D16: Transfer-Encoding: chunked -> 501 NotImplemented, as object storage does."""
    created = await api.create()

    async def chunks() -> AsyncIterator[bytes]:
        yield SPEECH[:1000]
        yield SPEECH[1000:]

    status, text, _ = await _put(api.session, created["recordingUploadUrl"], chunks())
    assert status == 501
    assert "<Code>NotImplemented</Code>" in text
    assert "<Header>Transfer-Encoding</Header>" in text
    assert api.sandbox.requests[-1].chunked
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"


async def test_upload_without_content_length_is_refused_411(api: Api) -> None:
    """D16: a PUT with no Content-Length -> 411 MissingContentLength."""
    created = await api.create()
    url = yarl.URL(created["recordingUploadUrl"], encoded=True)
    reply = await _raw_request(
        created["recordingUploadUrl"],
        f"PUT {url.raw_path_qs} HTTP/1.1\r\nHost: {url.raw_authority}\r\n"
        "Content-Type: audio/ogg\r\nConnection: close\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 411")
    assert b"<Code>MissingContentLength</Code>" in reply
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"


async def test_second_put_is_accepted_but_ignored(api: Api) -> None:
    """Decision: a second PUT to a used URL gets 200 (storage overwrites), but the run keeps
    the first recording's outcome, so a retried upload is harmless (D13)."""
    created = await api.create()
    assert await api.upload(created["recordingUploadUrl"], SPEECH) == 200
    first = (await api.get(created["id"]))[1]
    assert await api.upload(created["recordingUploadUrl"], b"not audio at all") == 200
    assert (await api.get(created["id"]))[1] == first
    assert first["status"] == "COMPLETE_OK"


async def test_concurrent_uploads_are_coherent(api: Api) -> None:
    """Runs uploaded at the same time each get their own outcome."""
    runs = [await api.create(label=f"user-{i}") for i in range(5)]
    statuses = await asyncio.gather(
        *(api.upload(run["recordingUploadUrl"], SPEECH) for run in runs)
    )
    assert statuses == [200] * 5
    results = [(await api.get(run["id"]))[1]["results"] for run in runs]
    assert all(result == results[0] for result in results)


async def test_large_upload_keeps_at_most_1_mib_in_the_log(api: Api) -> None:
    """Memory stays bounded: the log keeps the first 1 MiB and the full size; the body is
    spooled to disk for analysis (here: unknown format)."""
    created = await api.create()
    payload = b"\x00not audio" * 300_000  # 3 MB
    status, _, _ = await _put(
        api.session, created["recordingUploadUrl"], io.BytesIO(payload), **OGG
    )
    assert status == 200
    put = api.sandbox.requests[-1]
    assert put.body_size == len(payload)
    assert put.body == payload[: 1 << 20]
    run = (await api.get(created["id"]))[1]
    assert run["errorCode"] == "ERR_RECORDING_INVALID_FORMAT"


async def test_record_bodies_false_keeps_sizes_only(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with Sandbox(clock=clock, record_bodies=False) as sandbox:
        api = Api(http, sandbox)
        created = await api.create()
        await api.upload(created["recordingUploadUrl"], SPEECH)
    post, put = sandbox.requests
    assert (post.body, put.body) == (b"", b"")
    assert post.body_size > 0
    assert put.body_size == len(SPEECH)


async def test_storage_responses_carry_no_api_headers(api: Api) -> None:
    """The storage host is not the API: no x-request-id, no JSON."""
    created = await api.create()
    status, _, headers = await _put(api.session, created["recordingUploadUrl"], SPEECH, **OGG)
    assert status == 200
    assert "x-request-id" not in headers
