"""The client's connections and cool-down under pressure (issue 10, items 4, 6, 13, 14)."""

from __future__ import annotations

import asyncio
import gc
import http.server
import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from conftest import API_KEY, USER, Sleeps
from hostile_servers import SIGNATURE, Conn, RawServer, json_answer, serve_forever, until, web_app

from helios_async import (
    ClientClosedError,
    HeliosClient,
    Hooks,
    PoolTimeoutError,
    ResponseEvent,
    RetryPolicy,
    Timeouts,
    WellnessJob,
    WrongEventLoopError,
)
from helios_async.testing import sample_recording

ACCOUNT_JSON = json.dumps({"id": "acc-1", "features": []}).encode()


# -- 4. closing the client during a 429 cool-down ---------------------------------------------


async def test_closing_during_a_cooldown_stops_the_fanout_once_with_client_closed(
    make_client: Callable[..., HeliosClient], loop_reports: list[dict[str, Any]]
) -> None:
    """Every create meets a 429 (Retry-After 30 s); while the checks wait it out, the client
    is closed. The fan-out raises ClientClosedError once and stops: no job is tried again,
    no request leaves after the close, no session or task is left."""
    creates = 0

    async def create(request: web.Request) -> web.Response:
        nonlocal creates
        creates += 1
        return json_answer({"detail": "slow down"}, status=429, **{"Retry-After": "30"})

    sleeping = 0
    all_waiting = asyncio.Event()

    async def cooldown(seconds: float) -> None:  # a wait that outlasts the test...
        nonlocal sleeping
        sleeping += 1
        if sleeping >= 3:
            all_waiting.set()
        await asyncio.sleep(3600)  # ...unless the close cuts it short

    jobs = [
        WellnessJob(recording=sample_recording(), user=USER, language="en-GB", key=n)
        for n in range(6)
    ]
    retry = RetryPolicy(attempts=3, max_retry_after=60, sleep=cooldown)
    async with web_app({("POST", "/v1/models/mental-wellness"): create}) as root:
        client = make_client(root, retry=retry)
        async with client:
            checks = client.run_wellness_checks(jobs, concurrency=3)

            async def drain() -> list[Any]:
                async with checks:
                    return [outcome async for outcome in checks]

            consumer = asyncio.ensure_future(drain())
            async with asyncio.timeout(5):
                await all_waiting.wait()
            sent_before_close = creates
            await client.aclose()
            with pytest.raises(ClientClosedError):
                async with asyncio.timeout(5):
                    await consumer
    assert 1 <= creates == sent_before_close  # nothing was sent after the close
    assert checks.started == 3  # the other jobs were never started
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("helios-")] == []
    assert loop_reports == []


# -- 6. a client used from a second event loop -----------------------------------------------


@pytest.fixture
def threaded_api() -> Iterator[str]:
    """A keep-alive HTTP/1.1 API in a thread of its own, so it outlives event loops."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(ACCOUNT_JSON)))
            self.end_headers()
            self.wfile.write(ACCOUNT_JSON)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_client_used_from_a_second_event_loop_says_so_and_leaves_nothing_open(
    threaded_api: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two ``asyncio.run`` calls, one client left open between them: the second gets a
    WrongEventLoopError (a ClientClosedError) saying why; the session of the first loop was
    closed with that loop, so no unclosed session, connector or socket is reported."""
    client = HeliosClient(API_KEY, base_url=threaded_api, retry=RetryPolicy.disabled())

    async def first() -> str:
        await client.open()
        return (await client.get_account()).id  # leaves a keep-alive socket in the pool

    async def second() -> str:
        return (await client.get_account()).id

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(first()) == "acc-1"
        with pytest.raises(WrongEventLoopError, match="another event loop"):
            asyncio.run(second())
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- 13. the pool: a budget for waiting, and a bound on sockets -----------------------------


async def test_waiting_for_a_free_connection_has_its_own_budget_and_error(
    make_client: Callable[..., HeliosClient],
) -> None:
    """connection_limit=2 and two requests held by the server: a third waits
    ``Timeouts.pool`` (0.2 s) and raises PoolTimeoutError, unretried; the held two finish."""
    release = asyncio.Event()
    arrived = 0

    async def holding(conn: Conn) -> None:
        nonlocal arrived

        async def answer(request: Any, conn: Conn) -> None:
            nonlocal arrived
            arrived += 1
            await release.wait()
            await conn.send(200, ACCOUNT_JSON, headers={"Content-Type": "application/json"})

        await serve_forever(conn, answer)

    timeouts = Timeouts(pool=0.2, read=5.0, response=10.0)
    async with (
        RawServer(holding) as server,
        make_client(server.url, connection_limit=2, timeouts=timeouts) as client,
    ):
        held = [asyncio.ensure_future(client.get_account()) for _ in range(2)]
        await until(lambda: arrived == 2)
        async with asyncio.timeout(5):
            with pytest.raises(PoolTimeoutError, match=r"Timeouts\.pool"):
                await client.get_account()
        release.set()
        assert [account.id for account in await asyncio.gather(*held)] == ["acc-1", "acc-1"]
    assert arrived == 2  # the third never reached the server
    assert server.accepted == 2


async def test_closing_the_client_wakes_a_request_waiting_for_a_connection(
    make_client: Callable[..., HeliosClient],
) -> None:
    """connection_limit=1, the one connection held by the server: a second request waits
    for it (``Timeouts.pool`` 30 s); closing the client ends that wait at once with
    ClientClosedError, and the second request never reaches the server; the request in
    flight ends with ClientClosedError too."""
    arrived = 0

    async def holding(conn: Conn) -> None:
        nonlocal arrived

        async def answer(request: Any, conn: Conn) -> None:
            nonlocal arrived
            arrived += 1
            await asyncio.sleep(10)  # bounded: the client closes long before

        await serve_forever(conn, answer)

    timeouts = Timeouts(pool=30.0, read=30.0, response=30.0)
    async with RawServer(holding) as server:
        client = make_client(
            server.url, connection_limit=1, timeouts=timeouts, retry=RetryPolicy.disabled()
        )
        async with client:
            held = asyncio.ensure_future(client.get_account())
            await until(lambda: arrived == 1)
            waiting = asyncio.ensure_future(client.get_account())
            for _ in range(5):  # no I/O on its way to the pool: a few loop turns
                await asyncio.sleep(0)
            assert not waiting.done()
        async with asyncio.timeout(5):
            with pytest.raises(ClientClosedError, match="closed while the request waited"):
                await waiting
            [held_error] = await asyncio.gather(held, return_exceptions=True)
    # the one in flight is ended by the close as well: ClientClosedError, not a transport
    # failure that would read as the network's fault
    assert isinstance(held_error, ClientClosedError), repr(held_error)
    assert "closed while the request was in flight" in str(held_error)
    assert arrived == 1


async def test_idle_sockets_never_take_the_client_past_its_connection_limit(
    make_client: Callable[..., HeliosClient],
) -> None:
    """connection_limit=4: four calls leave four idle keep-alive sockets to the API; four
    uploads to storage then open four more. The client closes idle ones first, so the two
    servers never see more than four of its sockets open at once."""
    api_arrived = 0
    all_in = asyncio.Event()

    async def api(conn: Conn) -> None:
        async def answer(request: Any, conn: Conn) -> None:
            nonlocal api_arrived
            api_arrived += 1
            if api_arrived >= 4:
                all_in.set()
            await all_in.wait()  # four at once: four connections
            await conn.send(200, ACCOUNT_JSON, headers={"Content-Type": "application/json"})

        await serve_forever(conn, answer)

    release = asyncio.Event()

    async def storage(conn: Conn) -> None:
        async def answer(request: Any, conn: Conn) -> None:
            storage_server.requests.append(request)
            await release.wait()
            await conn.send(200)

        await serve_forever(conn, answer)

    async with (
        RawServer(api) as api_server,
        RawServer(storage) as storage_server,
        make_client(api_server.url, connection_limit=4) as client,
    ):
        await asyncio.gather(*(client.get_account() for _ in range(4)))
        assert api_server.open == 4  # idle, kept alive
        uploads = [
            asyncio.ensure_future(
                client.upload_recording(f"{storage_server.url}/up?{SIGNATURE}", sample_recording())
            )
            for _ in range(4)
        ]
        await until(lambda: len(storage_server.requests) == 4)
        await until(lambda: api_server.open + storage_server.open <= 4, timeout=2.0)
        release.set()
        await asyncio.gather(*uploads)


# -- 14. the end of a cool-down is spread out -------------------------------------------------


async def test_requests_held_by_a_cooldown_resume_spread_over_its_jitter(
    make_client: Callable[..., HeliosClient], sleeps: Sleeps
) -> None:
    """A 429 with Retry-After 2 holds twenty requests; each resumes at its own moment in
    [2, 2 + cooldown_jitter] s (1 s here), not all at once when the cool-down ends."""
    answered = 0

    async def account(request: web.Request) -> web.Response:
        nonlocal answered
        answered += 1
        if answered == 1:
            return json_answer({"detail": "slow"}, status=429, **{"Retry-After": "2"})
        return json_answer({"id": "acc-1", "features": []})

    limited = asyncio.Event()

    def on_response(event: ResponseEvent) -> None:
        if event.status == 429:
            limited.set()

    retry = RetryPolicy(attempts=3, sleep=sleeps, cooldown_jitter=1.0)
    hooks = Hooks(on_response=on_response)
    async with (
        web_app({("GET", "/v1/account"): account}) as root,
        make_client(root, retry=retry, hooks=hooks) as client,
    ):
        first = asyncio.ensure_future(client.get_account())
        await limited.wait()
        held = await asyncio.gather(*(client.get_account() for _ in range(20)))
        await first
    assert len(held) == 20
    waits = sorted(wait for wait in sleeps.waits if wait != 2.0)  # 2.0: the first one's retry
    assert len(waits) >= 20
    assert all(1.5 <= wait <= 3.0 for wait in waits), waits
    assert waits[-1] - waits[0] > 0.3, waits  # twenty uniform draws over 1 s: spread out
