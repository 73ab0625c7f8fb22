"""Every sandbox fault kind, as a plain HTTP client sees it on the wire (issue 3).

Each test adds one rule with ``times=1`` to the ``sandbox`` fixture's plan, so the next
request of the route gets the fault whatever the seed. Sections cited are helios-api.md's.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import Callable, Iterator

import aiohttp
import pytest
import yarl
from fault_helpers import create_request, get_request, raw_exchange, upload_request
from sandbox_helpers import Api, FakeClock

from helios_async.testing import (
    ErrorStatus,
    FaultPlan,
    GatewayHtml,
    MalformedJson,
    NeverFinishes,
    RateLimited,
    Reset,
    ResetMidBody,
    Sandbox,
    Slow,
    Truncate,
    UrlExpired,
    sample_recording,
)

SPEECH = sample_recording().read_bytes()


@pytest.fixture(autouse=True)
def _no_server_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A fault is an answer, not a server crash: aiohttp logs nothing at WARNING or above."""
    caplog.set_level(logging.WARNING, logger="aiohttp")
    yield
    assert [r.getMessage() for r in caplog.records if r.name.startswith("aiohttp")] == []


# ----------------------------------------------------------------------------- error answers


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (500, "text/plain", b"Internal Server Error"),
        (502, "application/json", b'{"message":"Internal server error"}'),
        (503, "application/json", b'{"message":"Service Unavailable"}'),
        (504, "application/json", b'{"message":"Endpoint request timed out"}'),
    ],
)
async def test_error_status_on_create_answers_like_the_gateway_and_makes_no_run(
    sandbox: Sandbox, status: int, content_type: str, body: bytes
) -> None:
    """D2's transient 5xx; before the handler, so no run exists (the D13 "never acted")."""
    sandbox.faults.add("create", ErrorStatus(status), times=1)
    reply = await raw_exchange(sandbox.base_url, create_request(sandbox, "op-5xx"))
    assert (reply.status, reply.headers["content-type"].split(";")[0]) == (status, content_type)
    assert reply.body == body
    assert sandbox.runs_created("op-5xx") == 0
    assert sandbox.requests[-1].fault == ErrorStatus(status)
    assert sandbox.requests[-1].status == status


async def test_error_status_after_the_handler_leaves_a_run_behind(sandbox: Sandbox) -> None:
    """D13: a 504 after the server acted; the run exists though the client saw a 504."""
    sandbox.faults.add("create", ErrorStatus(504, after_handler=True), times=1)
    reply = await raw_exchange(sandbox.base_url, create_request(sandbox, "op-504"))
    assert reply.status == 504
    assert sandbox.runs_created("op-504") == 1
    assert sandbox.runs_started("op-504") == 0


async def test_error_status_on_upload_is_s3_xml_and_a_retry_succeeds(
    sandbox: Sandbox, api: Api
) -> None:
    """§4, D16: storage answers 503 SlowDown in S3 XML; nothing is stored, so the same
    PUT again is accepted and the run starts."""
    created = await api.create("op-up503")
    sandbox.faults.add("upload", ErrorStatus(503), times=1)
    base, put = upload_request(created["recordingUploadUrl"], SPEECH)
    reply = await raw_exchange(base, put)
    assert reply.status == 503
    assert reply.headers["content-type"].startswith("application/xml")
    assert b"<Code>SlowDown</Code>" in reply.body
    assert sandbox.runs_started("op-up503") == 0
    assert (await raw_exchange(base, put)).status == 200
    assert sandbox.runs_started("op-up503") == 1


async def test_gateway_html_page(sandbox: Sandbox, api: Api) -> None:
    """An nginx-style 502 page, text/html, in place of the API's JSON."""
    created = await api.create()
    sandbox.faults.add("get", GatewayHtml(), times=1)
    reply = await raw_exchange(sandbox.base_url, get_request(sandbox, created["id"]))
    assert reply.status == 502
    assert reply.headers["content-type"].startswith("text/html")
    assert b"<title>502 Bad Gateway</title>" in reply.body
    assert b"nginx" in reply.body


async def test_gateway_fault_answers_before_the_key_is_checked(sandbox: Sandbox) -> None:
    """The fault middleware sits in front of the key gate (D3), as a gateway would."""
    sandbox.faults.add("account", ErrorStatus(503), times=1)
    async with (
        aiohttp.ClientSession() as http,
        http.get(sandbox.base_url + "/v1/account") as response,
    ):
        assert response.status == 503


# ----------------------------------------------------------------------------- 429


async def test_rate_limited_sends_retry_after_in_seconds(sandbox: Sandbox) -> None:
    """D13: 429 with ``Retry-After`` as delta-seconds (rounded up); no run was made."""
    sandbox.faults.add("create", RateLimited(1.2), times=1)
    reply = await raw_exchange(sandbox.base_url, create_request(sandbox, "op-429"))
    assert reply.status == 429
    assert reply.headers["retry-after"] == "2"
    assert json.loads(reply.body) == {"message": "Too Many Requests"}
    assert sandbox.runs_created("op-429") == 0


async def test_rate_limited_sends_retry_after_as_an_http_date(sandbox: Sandbox) -> None:
    """D13: the HTTP-date form (RFC 9110 IMF-fixdate) at most ``retry_after`` from now."""
    sandbox.faults.add("get", RateLimited(30, http_date=True), times=1)
    before = time.time()
    reply = await raw_exchange(
        sandbox.base_url, get_request(sandbox, "ddebd75b-99b3-42b4-ac65-5ce852c688e9")
    )
    assert reply.status == 429
    value = reply.headers["retry-after"]
    assert value.endswith(" GMT")
    when = email.utils.parsedate_to_datetime(value).timestamp()
    assert before + 28 <= when <= time.time() + 30


async def test_rate_limited_upload_is_s3_xml(sandbox: Sandbox, api: Api) -> None:
    created = await api.create()
    sandbox.faults.add("upload", RateLimited(0), times=1)
    reply = await raw_exchange(*upload_request(created["recordingUploadUrl"], SPEECH))
    assert (reply.status, reply.headers["retry-after"]) == (429, "0")
    assert b"<Code>TooManyRequests</Code>" in reply.body


# ----------------------------------------------------------------------------- resets


async def test_reset_before_the_handler_answers_nothing_and_makes_no_run(
    sandbox: Sandbox,
) -> None:
    """A TCP reset instead of an answer; the create never ran (D13)."""
    sandbox.faults.add("create", Reset(), times=1)
    reply = await raw_exchange(sandbox.base_url, create_request(sandbox, "op-rst"))
    assert (reply.status, reply.body, reply.ending) == (None, b"", "reset")
    assert sandbox.runs_created("op-rst") == 0
    logged = sandbox.requests[-1]
    assert (logged.status, logged.fault) == (None, Reset())


async def test_reset_after_the_handler_leaves_a_run_the_client_never_heard_of(
    sandbox: Sandbox, api: Api
) -> None:
    """D13: the run exists and is counted, though its id never reached the client."""
    sandbox.faults.add("create", Reset(after_handler=True), times=1)
    reply = await raw_exchange(sandbox.base_url, create_request(sandbox, "op-lost"))
    assert (reply.status, reply.ending) == (None, "reset")
    assert sandbox.runs_created("op-lost") == 1
    [run_id] = sandbox.run_ids("op-lost")
    status, run = await api.get(run_id)
    assert (status, run["status"]) == (200, "CREATED")
    assert sandbox.requests[-2].status is None  # the create, logged unanswered


async def test_aiohttp_raises_on_a_reset_post_but_silently_retries_a_get(
    sandbox: Sandbox,
) -> None:
    """What a client on aiohttp 3.14 sees: a reset POST raises ``ClientOSError``; an
    idempotent GET (or PUT with a replayable body) is retried once by aiohttp itself
    (RFC 9112 §9.3.1.1), so one reset on a GET never reaches the caller."""
    sandbox.faults.add("create", Reset(), times=1)
    sandbox.faults.add("account", Reset(), times=1)
    async with aiohttp.ClientSession(headers={"x-api-key": sandbox.api_key}) as http:
        with pytest.raises(aiohttp.ClientOSError, match="reset"):
            async with http.post(sandbox.base_url + "/v1/models/mental-wellness", json={}):
                pass
        async with http.get(sandbox.base_url + "/v1/account") as response:
            assert response.status == 200
    assert [(r.path, r.status) for r in sandbox.requests] == [
        ("/v1/models/mental-wellness", None),
        ("/v1/account", None),
        ("/v1/account", 200),
    ]


async def test_reset_on_upload_stores_nothing(sandbox: Sandbox, api: Api) -> None:
    """A storage-host reset before the body is read; a later PUT still works (§4)."""
    created = await api.create("op-up-rst")
    sandbox.faults.add("upload", Reset(), times=1)
    base, put = upload_request(created["recordingUploadUrl"], SPEECH)
    assert (await raw_exchange(base, put)).ending == "reset"
    assert sandbox.runs_started("op-up-rst") == 0
    assert (await raw_exchange(base, put)).status == 200


async def test_reset_mid_body_sends_the_head_and_part_of_the_body(
    sandbox: Sandbox, api: Api
) -> None:
    """Status line and full Content-Length arrive, then half the JSON, then an RST."""
    created = await api.create()
    sandbox.faults.add("get", ResetMidBody(), times=1)
    reply = await raw_exchange(sandbox.base_url, get_request(sandbox, created["id"]))
    assert (reply.status, reply.ending) == (200, "reset")
    assert reply.declared_length is not None
    assert len(reply.body) == reply.declared_length // 2
    assert sandbox.requests[-1].status == 200  # a status went out


async def test_truncated_body_promises_more_than_it_sends_then_closes_cleanly(
    sandbox: Sandbox, api: Api
) -> None:
    created = await api.create()
    sandbox.faults.add("get", Truncate(0.25), times=1)
    reply = await raw_exchange(sandbox.base_url, get_request(sandbox, created["id"]))
    assert (reply.status, reply.ending) == (200, "eof")
    assert reply.declared_length is not None
    assert len(reply.body) == int(reply.declared_length * 0.25) < reply.declared_length
    async with (
        aiohttp.ClientSession(headers={"x-api-key": sandbox.api_key}) as http,
    ):
        sandbox.faults.add("get", Truncate(), times=1)
        async with http.get(f"{sandbox.base_url}/v1/models/{created['id']}") as response:
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()


async def test_an_empty_upload_answer_is_still_visibly_cut(sandbox: Sandbox, api: Api) -> None:
    """Storage's 200 has no body, so the cut declares one byte and sends none; the upload
    itself was stored (the handler ran)."""
    created = await api.create("op-up-cut")
    sandbox.faults.add("upload", Truncate(), times=1)
    reply = await raw_exchange(*upload_request(created["recordingUploadUrl"], SPEECH))
    assert (reply.status, reply.declared_length, reply.body, reply.ending) == (200, 1, b"", "eof")
    assert sandbox.runs_started("op-up-cut") == 1


# ----------------------------------------------------------------------------- slow


async def until(condition: Callable[[], bool], *, within: float = 60.0) -> None:
    """Return once ``condition()`` holds, checked every 10 ms while the server works.

    ``within`` seconds is a hang guard only, far past any pause here (a loaded machine may
    take its time); nothing is asserted about how long the wait took.
    """
    try:
        async with asyncio.timeout(within):
            while not condition():  # noqa: ASYNC110 - polling the server's own log
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"the sandbox did not get there within {within:g} s")


async def test_slow_answers_late_but_normally(sandbox: Sandbox, api: Api) -> None:
    created = await api.create()
    sandbox.faults.add("get", Slow(0.2), times=1)
    status, run = await api.get(created["id"])
    assert (status, run["id"]) == (200, created["id"])
    assert sandbox.requests[-1].fault == Slow(0.2)  # that it is late: the next test's timeout


async def test_a_create_that_timed_out_still_makes_its_run(sandbox: Sandbox, api: Api) -> None:
    """D13: the client gave up (read timeout) but the server acted after the pause."""
    sandbox.faults.add("create", Slow(0.2), times=1)
    with pytest.raises(asyncio.TimeoutError):
        await api.session.post(
            sandbox.base_url + "/v1/models/mental-wellness",
            data=create_request(sandbox, "x").split(b"\r\n\r\n", 1)[1],
            headers={**api.headers, "Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(sock_read=0.05),
        )
    # The client's read timeout fired: it had no answer. The server carries on after the
    # pause; its request log entry is the last thing it writes, once the run is made.
    await until(lambda: any(r.fault == Slow(0.2) for r in sandbox.requests))
    assert sandbox.runs_created() == 1


async def test_a_client_leaving_a_slow_upload_is_logged_unanswered(
    sandbox: Sandbox, api: Api
) -> None:
    """The storage handler then reads from a dead connection: no error, status None."""
    created = await api.create("op-slow-up")
    sandbox.faults.add("upload", Slow(0.2), times=1)
    with pytest.raises(asyncio.TimeoutError):
        await api.session.put(
            yarl.URL(created["recordingUploadUrl"], encoded=True),
            data=SPEECH,
            headers={"Content-Type": "audio/ogg"},
            timeout=aiohttp.ClientTimeout(sock_read=0.05),
        )
    await until(lambda: any(r.host == "storage" for r in sandbox.requests))
    (upload,) = [r for r in sandbox.requests if r.host == "storage"]
    assert upload.status is None
    assert sandbox.runs_started("op-slow-up") == 0


async def test_close_cuts_slow_pauses_short() -> None:
    """No test waits on a Slow fault at shutdown: close() drops it unanswered at once."""
    plan = FaultPlan()
    plan.add("account", Slow(20), times=1)
    sandbox = Sandbox(faults=plan)
    await sandbox.start()
    async with aiohttp.ClientSession(headers={"x-api-key": sandbox.api_key}) as http:
        pending = asyncio.create_task(http.get(sandbox.base_url + "/v1/account"))
        while plan.requests_seen("account") == 0:  # noqa: ASYNC110 - polling the server
            await asyncio.sleep(0.01)
        async with asyncio.timeout(10):  # a hang guard: the pause was 20 s
            await sandbox.close()
        with pytest.raises(aiohttp.ClientError):
            await pending
    assert sandbox.requests[-1].status is None


# ----------------------------------------------------------------------------- bodies


async def test_malformed_json_is_a_200_that_does_not_parse(sandbox: Sandbox) -> None:
    """The create ran (a run exists) but its answer is half a JSON object."""
    sandbox.faults.add("create", MalformedJson(), times=1)
    reply = await raw_exchange(sandbox.base_url, create_request(sandbox, "op-garbled"))
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.body.startswith(b'{"id":')
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.body)
    assert sandbox.runs_created("op-garbled") == 1


# ----------------------------------------------------------------------------- run state


@pytest.mark.parametrize("route", ["create", "upload"])
async def test_a_run_that_never_finishes_stays_running(
    sandbox: Sandbox, api: Api, clock: FakeClock, route: str
) -> None:
    """§3.1: once its recording is in, the run stays RUNNING, completedAt null, for ever."""
    sandbox.faults.add("create" if route == "create" else "upload", NeverFinishes(), times=1)
    created = await api.create("op-stuck")
    assert await api.upload(created["recordingUploadUrl"], SPEECH) == 200
    clock.advance(86_400)
    status, run = await api.get(created["id"])
    assert (status, run["status"], run["completedAt"], run["results"]) == (
        200,
        "RUNNING",
        None,
        None,
    )
    assert run["runAt"] is not None
    assert sandbox.runs_started("op-stuck") == 1


async def test_an_activity_run_can_never_finish(sandbox: Sandbox, api: Api) -> None:
    sandbox.faults.add("activity", NeverFinishes(), times=1)
    async with api.session.post(
        sandbox.base_url + "/v1/models/mental-wellness-activity",
        json={
            "user": {"userLabel": "a", "dateOfBirth": "1990-01-01", "birthSex": "MALE"},
            "language": "en-GB",
        },
        headers=api.headers,
    ) as response:
        run_id = (await response.json())["id"]
    sandbox.complete_activity(run_id)
    assert (await api.get(run_id))[1]["status"] == "RUNNING"


async def test_early_url_expiry_refuses_this_and_every_later_put(
    sandbox: Sandbox, api: Api, clock: FakeClock
) -> None:
    """§4, D14, D16: 403 AccessDenied "Request has expired" with the TTL far from over;
    the URL stays dead, so the only remedy is a new run."""
    created = await api.create("op-expired")
    sandbox.faults.add("upload", UrlExpired(), times=1)
    clock.advance(60)  # of the 3600 s TTL
    for _ in range(2):
        status = await api.upload(created["recordingUploadUrl"], SPEECH)
        assert status == 403
    reply = await raw_exchange(*upload_request(created["recordingUploadUrl"], SPEECH))
    assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in reply.body
    assert sandbox.runs_started("op-expired") == 0
    assert (await api.get(created["id"]))[1]["status"] == "CREATED"
    assert [r.fault for r in sandbox.requests if r.host == "storage"] == [UrlExpired(), None, None]


# ----------------------------------------------------------------------------- routing


async def test_the_legacy_get_path_is_the_get_route(sandbox: Sandbox, api: Api) -> None:
    """D1: E5 ``GET /v1/models/{id}`` shares the ``get`` route with E4."""
    created = await api.create()
    sandbox.faults.add("get", ErrorStatus(500), times=1)
    url = f"{sandbox.base_url}/v1/models/{created['id']}"
    async with api.session.get(url, headers=api.headers) as response:
        assert response.status == 500
    assert sandbox.faults.injected[0].route == "get"


async def test_requests_to_no_route_never_get_a_fault(sandbox: Sandbox) -> None:
    """Unknown paths answer their normal 404, even with every route at rate 1."""
    for route in ("account", "create", "activity", "get"):
        sandbox.faults.add(route, ErrorStatus(503))  # type: ignore[arg-type]
    reply = await raw_exchange(
        sandbox.base_url,
        f"GET /v1/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"x-api-key: {sandbox.api_key}\r\n\r\n".encode(),
    )
    assert (reply.status, json.loads(reply.body)) == (404, {"detail": "Not Found"})
    assert sandbox.faults.count() == 0


async def test_the_same_seed_and_requests_give_the_same_faults_on_the_wire() -> None:
    """Determinism end to end: two sandboxes, one seed, the same request sequence -> the
    same faults and the same answers; another seed -> another sequence."""

    async def play(seed: int) -> list[tuple[str, int, object, int | None]]:
        async with Sandbox(faults=FaultPlan.chaos(seed, rate=0.5, slow_seconds=0.01)) as sb:
            for i in range(12):
                await raw_exchange(sb.base_url, create_request(sb, f"det-{i}"))
            for run_id in sb.run_ids()[:6]:
                await raw_exchange(sb.base_url, get_request(sb, run_id))
            return [
                (i.route, i.number, i.fault, r.status)
                for i, r in zip(
                    sb.faults.injected, [r for r in sb.requests if r.fault], strict=True
                )
            ]

    first, again, other = await play(11), await play(11), await play(12)
    assert first == again
    assert first != other
    assert len(first) >= 4
