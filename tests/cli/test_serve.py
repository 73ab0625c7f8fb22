"""``helios-async sandbox``: the sandbox as a server of its own, run as a process (``_serve``).

It prints its URLs and key as export lines, serves checks from another process, logs each
request in one line without secrets, and on SIGTERM or SIGINT closes its sockets and exits 0.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import socket
import sys

import pytest
from cli_helpers import REPO, shell_env

from helios_async import HeliosClient, User
from helios_async.testing import FAST_POLL, sample_recording

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


async def start(*argv: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    """The server as a process, and the three lines it printed on starting."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "helios_async",
        "sandbox",
        *argv,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=shell_env(THYMIA_API_KEY=None),
    )
    assert process.stdout is not None
    lines = []
    for _ in range(3):
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert line, "the server ended before printing its URLs"
        lines.append(line.decode().rstrip("\n"))
    return process, lines


async def stop(process: asyncio.subprocess.Process, signum: int) -> tuple[int, str, str]:
    process.send_signal(signum)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_check_against_the_standalone_sandbox_then_a_clean_stop(signum: int) -> None:
    process, lines = await start("--port", "0", "--processing-delay", "0")
    try:
        assert lines[0].startswith("Helios sandbox: API http://127.0.0.1:")
        assert lines[1].startswith("export THYMIA_BASE_URL=http://127.0.0.1:")
        assert lines[2].startswith("export THYMIA_API_KEY=sandbox-")
        base_url = lines[1].partition("=")[2]
        api_key = lines[2].partition("=")[2]
        port = int(base_url.rpartition(":")[2])
        async with HeliosClient(api_key, base_url=base_url, poll=FAST_POLL) as client:
            run = await client.run_wellness_check(
                sample_recording(),
                user=User(
                    user_label="standalone", date_of_birth=dt.date(1990, 8, 24), birth_sex="FEMALE"
                ),
                language="en-GB",
            )
        assert run.succeeded
    finally:
        status, out, err = await stop(process, signum)
    assert status == 0, err
    assert out == ""  # nothing after the three lines
    log = err.splitlines()
    assert any(line.split()[1:] == ["api", "POST", "/v1/models/mental-wellness", "200"]
               for line in log)  # fmt: skip
    assert any(line.split()[1:3] == ["storage", "PUT"] for line in log)
    assert log[-1] == "helios-async: sandbox stopped"
    assert api_key not in err
    assert "?" not in err  # no query, so no presigned URL's signature
    assert "standalone" not in err  # no user label
    assert refuses_connections(port)


async def test_fixed_ports_and_a_public_host_are_what_the_urls_say() -> None:
    """--port P --storage-port Q: the listeners use them; the URLs carry --public-host."""
    api, storage = free_port(), free_port()
    process, lines = await start(
        "--port", str(api), "--storage-port", str(storage), "--public-host", "localhost"
    )
    try:
        assert lines[0] == (
            f"Helios sandbox: API http://localhost:{api}, uploads http://localhost:{storage}"
        )
        assert not refuses_connections(api)
        assert not refuses_connections(storage)
    finally:
        status, _, err = await stop(process, signal.SIGTERM)
    assert status == 0, err
    assert refuses_connections(api)
    assert refuses_connections(storage)


async def test_a_port_in_use_is_one_line_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "helios_async", "sandbox", "--port", str(port),
            cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=shell_env(),
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert out == b""
    assert len(err.decode().splitlines()) == 1
    assert b"cannot start the sandbox" in err


@pytest.mark.parametrize("page", ["docs/guides/testing.md"])
def test_the_docker_compose_example_runs_a_command_the_parser_takes(page: str) -> None:
    """The documented service's command is one this program accepts, with the flags meant."""
    import re
    import shlex

    from helios_async.cli._parser import build_parser

    text = (REPO / page).read_text(encoding="utf-8")
    compose = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert compose is not None
    command = re.search(r'helios-async (sandbox [^"\n]*)', compose.group(1))
    assert command is not None
    args = build_parser().parse_args(shlex.split(command.group(1)))
    assert (args.host, args.port, args.public_host) == ("0.0.0.0", 8080, "helios")
    assert f"THYMIA_API_KEY: {args.api_key}" in compose.group(1)
    assert f"THYMIA_BASE_URL: http://{args.public_host}:{args.port}" in compose.group(1)
