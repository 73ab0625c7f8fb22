"""What the API answers, when it answers badly (issue 10, items 7, 8, 9, 11, 12, 15, 16)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from conftest import USER
from hostile_servers import (
    RUN_ID,
    SIGNATURE,
    Conn,
    RawServer,
    complete_ok,
    json_answer,
    run_json,
    section,
    web_app,
)

from helios_async import (
    BadRequestError,
    DecodeError,
    HeliosClient,
    ModelRunStatus,
    OutcomeUnknownError,
    RedirectError,
    RequestTimeoutError,
    ResponseTooLargeError,
    RetryPolicy,
    Timeouts,
    UploadRedirectError,
)
from helios_async.testing import sample_recording

ACCOUNT = ("GET", "/v1/account")
GET_RUN = ("GET", "/v1/models/mental-wellness/{id}")


def answering(*answers: Any) -> Callable[[web.Request], Any]:
    """A handler giving ``answers`` in turn (a payload for a 200, or a Response), then the
    last one for ever; ``.requests`` counts the calls."""
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        answer = answers[min(calls, len(answers) - 1)]
        calls += 1
        handler.requests = calls  # type: ignore[attr-defined]
        return answer if isinstance(answer, web.StreamResponse) else json_answer(answer)

    handler.requests = 0  # type: ignore[attr-defined]
    return handler


# -- 7. a 3xx is a typed error naming where it pointed, never followed ------------------------


async def test_a_redirect_from_the_api_is_a_redirect_error_with_its_location(
    make_client: Callable[..., HeliosClient],
) -> None:
    """Never followed (the key must not travel), never retried; ``location`` says where."""
    elsewhere = answering({"id": "stolen", "features": []})
    async with web_app({ACCOUNT: elsewhere}) as other:
        moved = web.Response(status=302, headers={"Location": f"{other}/v1/account?k=v"})
        async with (
            web_app({ACCOUNT: answering(moved)}) as root,
            make_client(root) as client,
        ):
            with pytest.raises(RedirectError) as caught:
                await client.get_account()
    assert caught.value.status == 302
    assert caught.value.location == f"{other}/v1/account?<redacted>"
    assert caught.value.location in str(caught.value)
    assert elsewhere.requests == 0  # type: ignore[attr-defined]


async def test_a_redirect_from_storage_is_an_upload_redirect_error_never_followed(
    make_client: Callable[..., HeliosClient],
) -> None:
    """The recording goes only where the API said: a 307 from storage is not followed."""
    elsewhere = answering(web.Response(status=200))
    async with web_app({("PUT", "/other"): elsewhere}) as other:
        moved = web.Response(status=307, headers={"Location": f"{other}/other?{SIGNATURE}"})
        async with (
            web_app({("PUT", "/up"): answering(moved)}) as root,
            make_client(root) as client,
        ):
            with pytest.raises(UploadRedirectError) as caught:
                await client.upload_recording(f"{root}/up?{SIGNATURE}", sample_recording())
    assert caught.value.location == f"{other}/other?<redacted>"
    assert SIGNATURE not in str(caught.value)
    assert elsewhere.requests == 0  # type: ignore[attr-defined]


# -- 8. an error body without detail or message is shown, bounded ---------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "shown"),
    [
        (b'{"error": "quota exceeded for this plan"}', "application/json", "quota exceeded"),
        (
            b"<html><head><title>400</title><style>p{}</style></head>"
            b"<body><h1>Bad request</h1><p>nginx refused it</p></body></html>",
            "text/html",
            "Bad request nginx refused it",
        ),
        (b"the gateway said no", "text/plain", "the gateway said no"),
    ],
    ids=["json", "html", "text"],
)
async def test_an_error_body_without_detail_is_shown_in_the_message(
    make_client: Callable[..., HeliosClient], body: bytes, content_type: str, shown: str
) -> None:
    refused = web.Response(status=400, body=body, content_type=content_type)
    async with web_app({ACCOUNT: answering(refused)}) as root, make_client(root) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.get_account()
    assert shown in str(caught.value)
    assert "<" not in caught.value.detail


async def test_a_huge_error_body_gives_a_bounded_error(
    make_client: Callable[..., HeliosClient],
) -> None:
    """A 5 MB 422 ``detail`` makes neither a 5 MB message nor a 5 MB ``body`` on the error."""
    refused = json_answer({"detail": "x" * (5 * 1024 * 1024)}, status=422)
    async with web_app({ACCOUNT: answering(refused)}) as root, make_client(root) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.get_account()
    assert len(str(caught.value)) < 1000
    assert len(caught.value.body) <= 64 * 1024


# -- 9. a number where a string belongs ------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        run_json(userLabel=7),
        complete_ok() | {"results": {"sections": [section() | {"transcript": 42}]}},
    ],
    ids=["userLabel", "transcript"],
)
async def test_a_number_where_a_string_belongs_is_a_decode_error(
    make_client: Callable[..., HeliosClient], payload: dict[str, Any]
) -> None:
    async with web_app({GET_RUN: answering(payload)}) as root, make_client(root) as client:
        with pytest.raises(DecodeError, match="expected str"):
            await client.get_model_run(RUN_ID)


async def test_the_account_id_alone_may_be_a_number(
    make_client: Callable[..., HeliosClient],
) -> None:
    """§2.2: old deployments send a customer number; it is read as an opaque string."""
    async with (
        web_app({ACCOUNT: answering({"id": 12345, "features": []})}) as root,
        make_client(root) as client,
    ):
        assert (await client.get_account()).id == "12345"


# -- 11. a response size cap ---------------------------------------------------------------


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "chunked"])
async def test_a_50_mb_answer_ends_in_a_typed_error_without_being_read_whole(
    make_client: Callable[..., HeliosClient], announced: bool
) -> None:
    """``max_response_bytes`` (here 1 MiB) caps a 2xx body; not retried (it would be as big)."""
    sent = 0

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if announced:
            response.content_length = 50 * 1024 * 1024
        await response.prepare(request)
        chunk = b" " * (1024 * 1024)
        for _ in range(50):
            await response.write(chunk)
            sent += 1
        return response

    async with (
        web_app({ACCOUNT: huge}) as root,
        make_client(root, max_response_bytes=1024 * 1024) as client,
    ):
        with pytest.raises(ResponseTooLargeError) as caught:
            await client.get_account()
    assert caught.value.limit == 1024 * 1024
    assert sent < 50  # reading stopped: the server could not write it all


# -- 12. a server that drips its answer ------------------------------------------------------


async def drip(conn: Conn) -> None:
    """Headers, then a byte of a long body every 0.05 s: each wait is short, the whole
    answer never ends."""
    await conn.read_head()
    await conn.send(200, b"", headers={"Content-Type": "application/json"}, length=10_000)
    for _ in range(2000):  # bounded: 100 s at most, the test ends long before
        conn.writer.write(b" ")
        await conn.writer.drain()
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("call", ["get_account", "create_model_run"])
async def test_a_dripped_answer_is_cut_at_the_response_ceiling(
    make_client: Callable[..., HeliosClient], call: str
) -> None:
    """Each byte comes within ``read`` (0.3 s), but the answer never ends: ``response``
    (0.5 s) cuts the attempt. A dripped create is an unknown outcome (D13)."""
    timeouts = Timeouts(read=0.3, response=0.5)
    async with (
        RawServer(drip) as server,
        make_client(server.url, timeouts=timeouts, retry=RetryPolicy.disabled()) as client,
    ):
        if call == "get_account":
            with pytest.raises(RequestTimeoutError) as caught:
                await client.get_account()
            error = caught.value
        else:
            with pytest.raises(OutcomeUnknownError) as unknown:
                await client.create_model_run(user=USER, language="en-GB")
            error = unknown.value.__cause__
    assert isinstance(error, RequestTimeoutError)
    assert error.limit == "response"


def silent_on(stalled: set[int], account: bytes) -> Callable[[Conn], Any]:
    """A keep-alive server answering ``account`` to each request, except the requests whose
    number (from 1, across connections) is in ``stalled``: those get their headers and part
    of the body, then silence (bounded: 10 s). ``handler.requests`` counts them."""
    count = 0

    async def handler(conn: Conn) -> None:
        nonlocal count
        while await conn.read_head() is not None:
            count += 1
            handler.requests = count  # type: ignore[attr-defined]
            if count in stalled:
                head = {"Content-Type": "application/json"}
                await conn.send(200, account[:5], headers=head, length=len(account))
                await asyncio.sleep(10)
                return
            await conn.send(200, account, headers={"Content-Type": "application/json"})

    handler.requests = 0  # type: ignore[attr-defined]
    return handler


ACCOUNT_BODY = b'{"id": "acc-1", "features": []}'


async def test_a_server_silent_mid_answer_is_cut_at_the_read_limit_on_a_reused_connection(
    make_client: Callable[..., HeliosClient],
) -> None:
    """Two answers on one kept-alive connection, then the third stops mid-body: ``read``
    (0.2 s) fires long before ``response`` (30 s), though the connection's read timer was
    armed by the earlier requests; the next call, on a new connection, is answered."""
    handler = silent_on({3}, ACCOUNT_BODY)
    timeouts = Timeouts(read=0.2, response=30.0)
    async with (
        RawServer(handler) as server,
        make_client(server.url, timeouts=timeouts, retry=RetryPolicy.disabled()) as client,
    ):
        for _ in range(2):
            assert (await client.get_account()).id == "acc-1"
        async with asyncio.timeout(5):
            with pytest.raises(RequestTimeoutError, match=r"Timeouts\.read=0\.2 s") as caught:
                await client.get_account()
        assert caught.value.limit == "read"
        assert (await client.get_account()).id == "acc-1"
    assert server.accepted == 2


async def test_a_silent_server_is_cut_at_the_response_limit_when_it_is_the_shorter(
    make_client: Callable[..., HeliosClient],
) -> None:
    """``response`` (0.3 s) shorter than ``read`` (30 s): the attempt ends at ``response``,
    and the client's next call is answered."""
    handler = silent_on({1}, ACCOUNT_BODY)
    timeouts = Timeouts(read=30.0, response=0.3)
    async with (
        RawServer(handler) as server,
        make_client(server.url, timeouts=timeouts, retry=RetryPolicy.disabled()) as client,
    ):
        async with asyncio.timeout(5):
            with pytest.raises(RequestTimeoutError, match=r"Timeouts\.response=0\.3 s") as caught:
                await client.get_account()
        assert caught.value.limit == "response"
        assert (await client.get_account()).id == "acc-1"


# -- 15. status: null -------------------------------------------------------------------------


async def test_a_null_status_keeps_the_poller_waiting(
    make_client: Callable[..., HeliosClient],
) -> None:
    """D10: null is absent; D11: finished only at a terminal status or completedAt."""
    get = answering(run_json(None), run_json(None), complete_ok())
    async with web_app({GET_RUN: get}) as root, make_client(root) as client:
        first = await client.get_model_run(RUN_ID)
        assert not first.status.is_known
        assert not first.is_finished
        run = await client.wait_for_model_run(RUN_ID, timeout=5)
    assert run.status is ModelRunStatus.COMPLETE_OK
    assert get.requests == 3  # type: ignore[attr-defined]


async def test_a_null_status_with_completed_at_is_finished(
    make_client: Callable[..., HeliosClient],
) -> None:
    done = run_json(None, completedAt="2026-03-26T09:31:40Z")
    async with web_app({GET_RUN: answering(done)}) as root, make_client(root) as client:
        run = await client.wait_for_model_run(RUN_ID, timeout=5)
    assert run.is_finished and not run.succeeded


# -- 16. scores out of range; COMPLETE_OK without results -----------------------------------


@pytest.mark.parametrize(
    "scores",
    [{"mentalStrain": 7.5}, {"uniformDistress": -0.2}, {"stress": 1.5}],
    ids=["7.5", "-0.2", "bucketed-1.5"],
)
async def test_a_score_outside_its_range_is_a_decode_error(
    make_client: Callable[..., HeliosClient], scores: dict[str, float]
) -> None:
    """D6: every score lies in [0, 1] (a bucketed one between its buckets is kept: see
    tests/test_converter.py)."""
    async with (
        web_app({GET_RUN: answering(complete_ok(**scores))}) as root,
        make_client(root) as client,
    ):
        with pytest.raises(DecodeError, match=r"score (lies in|is one of)"):
            await client.get_model_run(RUN_ID)


async def test_complete_ok_without_a_section_never_succeeded(
    make_client: Callable[..., HeliosClient],
) -> None:
    empty = complete_ok() | {"results": {"sections": []}}
    async with web_app({GET_RUN: answering(empty)}) as root, make_client(root) as client:
        run = await client.wait_for_model_run(RUN_ID, timeout=5)
    assert run.status is ModelRunStatus.COMPLETE_OK
    assert not run.succeeded
