"""helios_async._transport: the aiohttp transport at its own boundary (aioresponses), sending
one request and mapping aiohttp's failures onto the error tree (D13, D14)."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from multidict import CIMultiDict

from helios_async import (
    AiohttpTransport,
    ApiRequest,
    ClientClosedError,
    ConnectError,
    InvalidInputError,
    RequestTimeoutError,
    Timeouts,
    Transport,
    TransportError,
)
from helios_async._transport import client_timeout

URL = "https://storage.example/b/run%2Fa.wav?X-Amz-Signature=s1gn4ture&X-Amz-Expires=3600"
TIMEOUTS = Timeouts()


def put(body: bytes = b"audio") -> ApiRequest:
    return ApiRequest(
        operation="upload_recording",
        method="PUT",
        url=URL,
        headers={"Content-Type": "audio/wav", "Content-Length": str(len(body))},
        body=body,
        to_storage=True,
    )


def connect_error() -> aiohttp.ClientConnectorError:
    key = ConnectionKey(
        **(dict.fromkeys(ConnectionKey._fields) | {"host": "h", "port": 443, "is_ssl": True})
    )
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


def test_timeouts_map_onto_aiohttp_timeouts():
    """An API call has connect and read limits; an upload no read timer while it sends (its
    own limits follow its size); neither a total nor a pool wait in aiohttp's hands."""
    timeouts = Timeouts(connect=1.5, read=2.5, upload=30.0)
    api = client_timeout(timeouts, upload=False)
    assert isinstance(api, aiohttp.ClientTimeout)
    assert (api.total, api.connect, api.sock_connect, api.sock_read) == (None, None, 1.5, 2.5)
    upload = client_timeout(timeouts, upload=True)
    assert (upload.total, upload.connect, upload.sock_connect, upload.sock_read) == (
        None,
        None,
        1.5,
        None,
    )
    assert client_timeout(timeouts, upload=True) is upload  # built once per Timeouts


def test_the_aiohttp_transport_is_a_transport():
    assert isinstance(AiohttpTransport(), Transport)


async def test_one_request_is_sent_verbatim_without_redirects_and_read_whole(mock_api):
    """D14: the URL is never re-quoted; no redirect is followed; the response is whole."""
    mock_api.put(URL, status=201, body=b"<ok/>", headers={"x-request-id": "r1"})
    transport = AiohttpTransport()
    try:
        response = await transport.send(put(), timeouts=TIMEOUTS)
    finally:
        await transport.aclose()
    assert (response.status, response.body, response.headers["X-Request-Id"]) == (
        201,
        b"<ok/>",
        "r1",
    )
    [call] = mock_api.calls("PUT", URL)
    assert call.kwargs["allow_redirects"] is False
    # bytes go out in one write, bounded like an API call; a RecordingBody streams
    assert call.kwargs["timeout"] == client_timeout(TIMEOUTS, upload=False)
    assert CIMultiDict(call.kwargs["headers"])["Content-Type"] == "audio/wav"
    [sent_url] = [key[1] for key in mock_api.requests]
    assert "run%2Fa.wav" in str(sent_url)


@pytest.mark.parametrize(
    ("failure", "error", "text"),
    [
        ({"exception": connect_error()}, ConnectError, "could not connect"),
        ({"exception": aiohttp.ServerDisconnectedError()}, TransportError, "connection failed"),
        ({"exception": aiohttp.ClientPayloadError("cut")}, TransportError, "cut short"),
        ({"timeout": True}, RequestTimeoutError, "timed out"),
        (
            {"exception": aiohttp.SocketTimeoutError("read")},
            RequestTimeoutError,
            "timed out: no response bytes within Timeouts.read=30 s",
        ),
        (
            {"exception": aiohttp.ClientConnectionError(f"reset talking to {URL}")},
            TransportError,
            "connection failed",
        ),
    ],
    ids=["connect", "disconnect", "cut-short", "timeout", "sock-read", "url-in-text"],
)
async def test_aiohttp_failures_map_onto_the_error_tree_with_urls_redacted(
    mock_api, failure, error, text
):
    """D13: a refused connection is a ConnectError (never reached the server); the rest are
    TransportErrors; no presigned signature shows in the message, even one aiohttp quoted."""
    mock_api.put(URL, **failure)
    transport = AiohttpTransport()
    try:
        with pytest.raises(error) as caught:
            await transport.send(put(), timeouts=TIMEOUTS)
    finally:
        await transport.aclose()
    assert type(caught.value) is error
    assert text in str(caught.value)
    assert "s1gn4ture" not in str(caught.value)
    assert caught.value.url == "https://storage.example/b/run%2Fa.wav?<redacted>"


async def test_an_owned_session_is_opened_on_first_use_and_closed_by_aclose(mock_api):
    mock_api.put(URL, status=200)
    transport = AiohttpTransport(connection_limit=7)
    assert transport.pool_limit == 7
    await transport.send(put(), timeouts=TIMEOUTS)
    [session] = mock_api.sessions_used()
    await transport.aclose()
    assert session.closed
    await transport.aclose()  # idempotent


async def test_a_borrowed_session_is_never_closed_and_its_closing_is_reported(mock_api):
    mock_api.put(URL, status=200)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=3))
    transport = AiohttpTransport(session)
    assert transport.pool_limit == 3
    await transport.send(put(), timeouts=TIMEOUTS)
    await transport.aclose()
    assert not session.closed
    await session.close()
    with pytest.raises(ClientClosedError, match="session"):
        await AiohttpTransport(session).send(put(), timeouts=TIMEOUTS)


@pytest.mark.parametrize("limit", [-1, 1.5, True, "10"])
def test_a_connection_limit_that_is_not_an_int_of_0_or_more_is_refused(limit):
    with pytest.raises(InvalidInputError, match="connection_limit"):
        AiohttpTransport(connection_limit=limit)
