"""The presigned PUT against hostile storage (issue 10, items 1, 2, 5, 17).

Storage here is a raw TCP server with a small receive buffer, so an 8 MiB body really
blocks in the client when the server stops reading: what an uplink slower than the disk
does to a long recording.
"""

from __future__ import annotations

import asyncio
import errno
import io
import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from conftest import USER, write_wav
from hostile_servers import (
    SIGNATURE,
    Conn,
    RawServer,
    Rewriting,
    complete_ok,
    created,
    json_answer,
    web_app,
)

from helios_async import (
    AiohttpTransport,
    HeliosClient,
    Hooks,
    InsecureUploadError,
    RecordingError,
    RequestTimeoutError,
    RetryPolicy,
    Timeouts,
    TransportError,
)
from helios_async.testing import sample_recording

MiB = 1024 * 1024
SMALL_BUFFER = 16 * 1024


async def read_all(conn: Conn) -> None:
    request = await conn.read_head()
    assert request is not None
    left = request.content_length
    while left:
        left -= len(await conn.reader.read(min(left, 256 * 1024)))


# -- 1. the upload's limits follow its size ------------------------------------------------


async def test_an_upload_that_takes_longer_than_the_read_timeout_is_not_cut_at_it(
    make_client: Callable[..., HeliosClient], big_wav: Path
) -> None:
    """No read timer runs while the body is sent: storage that stops reading for longer
    than ``read`` (here 0.3 s) and then takes everything gets the whole recording, once."""
    puts = 0

    async def slow_storage(conn: Conn) -> None:
        nonlocal puts
        puts += 1
        await asyncio.sleep(1.0)  # the uplink stalls: the client's writes block meanwhile
        await read_all(conn)
        await conn.send(200)

    timeouts = Timeouts(read=0.3, upload_min_rate=MiB)  # 8 MiB may take 8 s to send
    async with (
        RawServer(slow_storage, rcvbuf=SMALL_BUFFER) as storage,
        make_client(storage.url, timeouts=timeouts) as client,
    ):
        await client.upload_recording(
            f"{storage.url}/up?{SIGNATURE}", big_wav, check_duration=False
        )
    assert puts == 1


@pytest.mark.parametrize(
    ("limit", "timeouts", "reads"),
    [
        # storage never reads: 8 MiB at 16 MiB/s may take 0.5 s, then "sending" fires
        ("sending", Timeouts(read=0.3, upload_min_rate=16 * MiB), False),
        # storage takes every byte and stays silent: "answer" fires read seconds later
        ("answer", Timeouts(read=0.3, upload_min_rate=16 * MiB), True),
        # a hard cap below what the size allows: "total" fires
        ("total", Timeouts(read=0.3, upload_min_rate=1024, upload=0.5), False),
    ],
    ids=["sending", "answer", "total"],
)
async def test_the_error_says_which_upload_limit_fired(
    make_client: Callable[..., HeliosClient],
    big_wav: Path,
    limit: str,
    timeouts: Timeouts,
    reads: bool,
) -> None:
    """Timeouts: sending may take max(read, size / upload_min_rate), the answer read
    seconds after the last byte, the attempt ``upload`` in all where set."""
    held = asyncio.Event()

    async def storage_handler(conn: Conn) -> None:
        if reads:
            await read_all(conn)
        await held.wait()  # silence, until the test ends

    async with (
        RawServer(storage_handler, rcvbuf=SMALL_BUFFER) as storage,
        make_client(storage.url, timeouts=timeouts, retry=RetryPolicy.disabled()) as client,
    ):
        with pytest.raises(RequestTimeoutError) as caught:
            await client.upload_recording(
                f"{storage.url}/up?{SIGNATURE}", big_wav, check_duration=False
            )
    assert caught.value.limit == limit
    assert SIGNATURE not in str(caught.value)


# -- 2. no signature in any error, log line or hook event ----------------------------------


async def test_a_reset_mid_upload_leaks_the_signature_nowhere(
    make_client: Callable[..., HeliosClient],
    big_wav: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Storage resets the connection mid-body; aiohttp's own text names the URL with its
    query. The signature appears in no error (message, repr, traceback), no log line at
    any level, no hook event."""
    events: list[object] = []

    async def resetting_storage(conn: Conn) -> None:
        await conn.read_head()
        await conn.reader.read(64 * 1024)
        conn.reset()

    hooks = Hooks(on_request=events.append, on_response=events.append, on_retry=events.append)
    caplog.set_level(logging.DEBUG, logger="helios_async")
    async with (
        RawServer(resetting_storage, rcvbuf=SMALL_BUFFER) as storage,
        make_client(storage.url, hooks=hooks) as client,
    ):
        with pytest.raises(TransportError) as caught:
            await client.upload_recording(
                f"{storage.url}/up?{SIGNATURE}", big_wav, check_duration=False
            )
    assert any(type(e).__name__ == "RetryEvent" for e in events)  # it was retried
    texts = [str(caught.value), repr(caught.value), *traceback.format_exception(caught.value)]
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.extend(traceback.format_exception(*record.exc_info))
    for event in events:
        texts.append(repr(event))
        error = getattr(event, "error", None)
        if error is not None:
            texts.extend(traceback.format_exception(error))
    leaks = [text for text in texts if "5ecr3t" in text]
    assert leaks == []


# -- 5. a disk that fails mid-upload --------------------------------------------------------


class FailingDisk(io.BytesIO):
    """A recording whose reads past ``fail_at`` bytes fail as a dying disk's do."""

    def __init__(self, data: bytes, fail_at: int) -> None:
        super().__init__(data)
        self.fail_at = fail_at

    def read(self, size: int | None = -1, /) -> bytes:
        if self.tell() >= self.fail_at:
            raise OSError(errno.EIO, "Input/output error")
        return super().read(size)


async def test_a_disk_read_error_mid_upload_is_a_recording_error_not_retried(
    make_client: Callable[..., HeliosClient], tmp_path: Path
) -> None:
    """The recording failed, not the network: RecordingError, and no second attempt."""
    data = write_wav(tmp_path / "r.wav", 2 * MiB).read_bytes()
    attempts = 0

    async def storage_handler(conn: Conn) -> None:
        nonlocal attempts
        attempts += 1
        await read_all(conn)
        await conn.send(200)

    async with (
        RawServer(storage_handler) as storage,
        make_client(storage.url) as client,
    ):
        with pytest.raises(RecordingError, match="could not be read") as caught:
            await client.upload_recording(
                f"{storage.url}/up?{SIGNATURE}",
                FailingDisk(data, fail_at=600 * 1024),
                check_duration=False,
            )
    assert isinstance(caught.value.__cause__, OSError)
    assert attempts <= 1


# -- 17. an https API handing out an http upload URL ---------------------------------------


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed"])
async def test_an_https_api_giving_an_http_upload_url_is_refused_unless_allowed(
    make_client: Callable[..., HeliosClient], allowed: bool
) -> None:
    """The client is told the API is https (the names are rewritten onto loopback servers
    underneath); the API hands out ``http://storage.test/...``. The recording is never
    sent in cleartext unless ``allow_http_upload=True``; the run's id is on the error."""
    uploads = 0
    run = complete_ok()

    async def create(request: web.Request) -> web.Response:
        return json_answer(created(f"http://storage.test/up?{SIGNATURE}", run["id"]))

    async def get(request: web.Request) -> web.Response:
        return json_answer(run)

    async def put(request: web.Request) -> web.Response:
        nonlocal uploads
        uploads += 1
        await request.read()
        return web.Response(status=200)

    routes = {
        ("POST", "/v1/models/mental-wellness"): create,
        ("GET", "/v1/models/mental-wellness/{id}"): get,
        ("PUT", "/up"): put,
    }
    announced: list[str] = []
    async with web_app(routes) as root:
        transport = Rewriting(
            AiohttpTransport(), {"https://api.test": root, "http://storage.test": root}
        )
        client = make_client("https://api.test", transport=transport, allow_http_upload=allowed)
        async with client:
            check = client.run_wellness_check(
                sample_recording(),
                user=USER,
                language="en-GB",
                on_created=lambda created: announced.append(created.id),
            )
            if allowed:
                assert (await check).succeeded
            else:
                with pytest.raises(InsecureUploadError, match="cleartext") as caught:
                    await check
                assert caught.value.model_run_id == run["id"]
                assert SIGNATURE not in str(caught.value)
    assert announced == [run["id"]]
    assert uploads == (1 if allowed else 0)


async def test_a_loopback_http_upload_url_is_always_allowed(
    make_client: Callable[..., HeliosClient],
) -> None:
    """Loopback storage (the sandbox, a local proxy) never leaves the machine: allowed."""
    uploads = 0

    async def put(request: web.Request) -> web.Response:
        nonlocal uploads
        uploads += 1
        await request.read()
        return web.Response(status=200)

    async with web_app({("PUT", "/up"): put}) as root:
        transport = Rewriting(AiohttpTransport(), {"https://api.test": root})
        async with make_client("https://api.test", transport=transport) as client:
            await client.upload_recording(f"{root}/up?{SIGNATURE}", sample_recording())
    assert uploads == 1
