"""Fault injection leaves nothing behind, and the plan is part of the Sandbox API (issue 3).

After every fault kind has fired on every route it applies to (including a request still
paused by a :class:`Slow` fault at shutdown), ``Sandbox.close()`` returns with no task of
the sandbox left and every socket it opened closed.
"""

from __future__ import annotations

import asyncio
import gc
import os

import aiohttp
from fault_helpers import create_request, get_request, http_request, raw_exchange, upload_request
from sandbox_helpers import Api

from helios_async.testing import (
    ROUTES,
    ErrorStatus,
    FaultPlan,
    Reset,
    Sandbox,
    Slow,
    chaos_menu,
    sample_recording,
)

SPEECH = sample_recording().read_bytes()


def _open_fds() -> list[str]:
    """What each open file descriptor of this process points at (sockets as socket:[n])."""
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the descriptor listdir itself used
            continue
    return sorted(targets)


async def test_every_fault_kind_then_close_leaves_no_task_and_no_socket() -> None:
    gc.collect()
    fds_before = _open_fds()
    tasks_before = asyncio.all_tasks()
    plan = FaultPlan(seed="cleanup")
    menus = {route: chaos_menu(route, slow_seconds=0.01) for route in ROUTES}
    async with Sandbox(faults=plan) as sandbox:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                sandbox.base_url + "/v1/models/mental-wellness",
                json={
                    "user": {"userLabel": "u", "dateOfBirth": "1990-01-01", "birthSex": "MALE"},
                    "language": "en-GB",
                },
                headers={"x-api-key": sandbox.api_key},
            ) as response,
        ):
            created = await response.json()
        for route, menu in menus.items():
            for fault in menu:
                plan.add(route, fault, times=1)  # the route's next requests, one fault each
        for _ in menus["create"]:
            await raw_exchange(sandbox.base_url, create_request(sandbox, "cleanup"))
        for _ in menus["activity"]:
            await raw_exchange(
                sandbox.base_url,
                create_request(sandbox, "cleanup").replace(b"wellness ", b"wellness-activity "),
            )
        for _ in menus["account"]:
            await raw_exchange(
                sandbox.base_url, http_request("GET", "/v1/account", key=sandbox.api_key)
            )
        for _ in menus["get"]:
            await raw_exchange(sandbox.base_url, get_request(sandbox, created["id"]))
        for _ in menus["upload"]:
            await raw_exchange(*upload_request(created["recordingUploadUrl"], SPEECH))
        assert all(rule.exhausted for rule in plan.rules)
        assert {type(i.fault) for i in plan.injected} == {
            type(f) for menu in menus.values() for f in menu
        }
        # One request still paused when the sandbox closes.
        plan.add("account", Slow(20), times=1)
        paused = asyncio.create_task(
            raw_exchange(sandbox.base_url, http_request("GET", "/v1/account", key="k"))
        )
        while plan.requests_seen("account") <= len(menus["account"]):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    assert (await paused).status is None
    gc.collect()
    assert asyncio.all_tasks() == tasks_before
    assert _open_fds() == fds_before


async def test_the_plan_is_the_sandbox_s_and_may_be_replaced_while_running(
    sandbox: Sandbox, api: Api
) -> None:
    """``Sandbox(faults=...)`` is ``sandbox.faults``; by default an empty plan, seed 0."""
    assert sandbox.faults.rules == ()
    assert sandbox.faults.seed == 0
    created = await api.create("replace")
    sandbox.faults = FaultPlan(seed=1)
    sandbox.faults.add("get", ErrorStatus(500), times=1)
    reply = await raw_exchange(sandbox.base_url, get_request(sandbox, created["id"]))
    assert reply.status == 500
    assert sandbox.requests[-1].fault == ErrorStatus(500)
    assert sandbox.requests[0].fault is None


async def test_run_ids_and_runs_started_tell_created_from_billable(
    sandbox: Sandbox, api: Api
) -> None:
    """A run whose create was never answered is created (it counts towards a duplicate)
    but not started: only runs that got a recording are processed (§3.1)."""
    sandbox.faults.add("create", Reset(after_handler=True), times=1)
    await raw_exchange(sandbox.base_url, create_request(sandbox, "twice"))
    created = await api.create("twice")
    assert await api.upload(created["recordingUploadUrl"], SPEECH) == 200
    assert sandbox.runs_created("twice") == 2
    assert sandbox.runs_started("twice") == 1
    assert sandbox.run_ids("twice")[1] == created["id"]
    assert sandbox.run_ids() == sandbox.run_ids("twice")
    assert sandbox.runs_started() == 1
