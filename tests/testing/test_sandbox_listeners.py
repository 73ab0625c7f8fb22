"""How the :class:`Sandbox` binds and names its two listeners, and who sees its requests:
fixed ports, a public host name for its URLs, a per-request callback, no kept log."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from helios_async.testing import RecordedRequest, Sandbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_fixed_ports_are_bound_and_named_in_the_urls() -> None:
    api, storage = free_port(), free_port()
    async with Sandbox(port=api, storage_port=storage) as sandbox:
        assert sandbox.base_url == f"http://127.0.0.1:{api}"
        assert sandbox.storage_url == f"http://127.0.0.1:{storage}"


async def test_the_public_host_names_the_urls_and_every_interface_defaults_to_loopback() -> None:
    async with Sandbox(public_host="helios-sandbox") as sandbox:
        assert sandbox.base_url.startswith("http://helios-sandbox:")
        assert sandbox.storage_url.startswith("http://helios-sandbox:")
    async with Sandbox(host="0.0.0.0") as sandbox:
        assert sandbox.base_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"port": -1}, "port must be a TCP port"),
        ({"storage_port": 70000}, "storage_port must be a TCP port"),
        ({"port": True}, "port must be a TCP port"),
        ({"port": 9000, "storage_port": 9000}, "must differ"),
    ],
)
def test_impossible_ports_are_refused(settings: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Sandbox(**settings)


async def test_on_request_sees_each_request_and_keep_requests_false_keeps_none() -> None:
    seen: list[RecordedRequest] = []
    async with (
        Sandbox(on_request=seen.append, keep_requests=False) as sandbox,
        aiohttp.ClientSession() as session,
        session.get(f"{sandbox.base_url}/v1/account", headers={"x-api-key": sandbox.api_key}),
    ):
        pass
    assert [(r.host, r.method, r.path, r.status) for r in seen] == [
        ("api", "GET", "/v1/account", 200)
    ]
    assert sandbox.requests == []
