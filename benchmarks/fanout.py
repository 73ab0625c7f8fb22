"""Fan-out benchmark: N full wellness checks through ``run_wellness_checks`` against a minimal
raw-aiohttp script making the same HTTP calls, on the same sandbox, in one run (issue 4).

Run by hand::

    python benchmarks/fanout.py [--checks 10000] [--concurrency 100] [--rounds 2]

The sandbox (processing delay 0, bodies not recorded) runs in a process of its own, and
each side runs in a fresh child process, so each side's peak RSS (``ru_maxrss``) is its own.
Each check is create (POST), upload (PUT of a 21 KB, 10.5 s noise WAV from a file) and
one poll (GET; with no processing delay the first poll sees COMPLETE_OK). The sides run
alternately, ``--rounds`` times each after a warm-up; the best round of each side counts.

Prints one line: checks per second of each side, their ratio (target >= 0.9), each side's
peak RSS (target < 200 MB for the client) and the CPU share of one core the sandbox used
while each side ran (well under 100 % means the sandbox was not the bottleneck).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from _support import (
    Server,
    cpu_seconds,
    load,
    noise_wav,
    own_cpu_seconds,
    peak_rss_mb,
    ratio,
    report,
    run_child,
)
from yarl import URL

TERMINAL = ("COMPLETE_OK", "COMPLETE_ERROR")


async def helios_side(
    base_url: str, key: str, recording: Path, checks: int, conc: int, server_pid: int
) -> None:
    from helios_async import HeliosClient, PollPolicy, User, WellnessJob

    def jobs() -> Iterator[WellnessJob]:
        for number in range(checks):
            user = User(
                user_label=f"bench-{number}", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE"
            )
            yield WellnessJob(recording=recording, user=user, language="en-GB", key=number)

    poll = PollPolicy(first_interval=0.05, interval=0.1)
    ok = 0
    async with HeliosClient(key, base_url=base_url, poll=poll, connection_limit=conc) as client:
        server_before, cpu_before = cpu_seconds(server_pid), own_cpu_seconds()
        started = time.perf_counter()
        async with client.run_wellness_checks(jobs(), concurrency=conc) as outcomes:
            async for outcome in outcomes:
                ok += outcome.ok
        elapsed = time.perf_counter() - started
        server_cpu, cpu = cpu_seconds(server_pid) - server_before, own_cpu_seconds() - cpu_before
    report(side="helios", checks=checks, ok=ok, elapsed=elapsed, cpu=cpu, server_cpu=server_cpu,
           rss_mb=peak_rss_mb())  # fmt: skip


async def raw_side(
    base_url: str, key: str, recording: Path, checks: int, conc: int, server_pid: int
) -> None:
    """The same calls with nothing but aiohttp: POST json, PUT the file, GET json."""
    headers = {"x-api-key": key}

    async def check(session: aiohttp.ClientSession, number: int) -> bool:
        body = {
            "user": {
                "userLabel": f"bench-{number}",
                "dateOfBirth": "1990-08-24",
                "birthSex": "MALE",
            },
            "language": "en-GB",
        }
        async with session.post(
            f"{base_url}/v1/models/mental-wellness", json=body, headers=headers
        ) as response:
            created = await response.json()
        with recording.open("rb") as stream:
            async with session.put(
                URL(created["recordingUploadUrl"], encoded=True),
                data=stream,
                headers={"Content-Type": "audio/wav"},
            ) as response:
                await response.read()
                if response.status != 200:
                    return False
        while True:
            async with session.get(
                f"{base_url}/v1/models/mental-wellness/{created['id']}", headers=headers
            ) as response:
                run = await response.json()
            if run["status"] in TERMINAL:
                return bool(run["status"] == "COMPLETE_OK")
            await asyncio.sleep(0.05)

    ok = 0
    connector = aiohttp.TCPConnector(limit=conc)
    async with aiohttp.ClientSession(connector=connector) as session:
        server_before, cpu_before = cpu_seconds(server_pid), own_cpu_seconds()
        started = time.perf_counter()
        numbers = iter(range(checks))
        running: set[asyncio.Task[bool]] = set()
        while True:
            for number in numbers:
                running.add(asyncio.create_task(check(session, number)))
                if len(running) >= conc:
                    break
            if not running:
                break
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            ok += sum(task.result() for task in done)
        elapsed = time.perf_counter() - started
        server_cpu, cpu = cpu_seconds(server_pid) - server_before, own_cpu_seconds() - cpu_before
    report(side="raw", checks=checks, ok=ok, elapsed=elapsed, cpu=cpu, server_cpu=server_cpu,
           rss_mb=peak_rss_mb())  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--side", choices=["helios", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--recording", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:  # a child: one side, one round
        side = helios_side if args.side == "helios" else raw_side
        asyncio.run(
            side(
                args.base_url,
                args.key,
                args.recording,
                args.checks,
                args.concurrency,
                args.server_pid,
            )
        )
        return

    with tempfile.TemporaryDirectory() as folder, Server("_sandbox_server.py") as sandbox:
        recording = Path(folder) / "noise.wav"
        recording.write_bytes(noise_wav(10.5))

        def side(name: str, checks: int) -> dict[str, float]:
            return run_child(  # type: ignore[no-any-return]
                "fanout.py",
                "--side", name,
                "--base-url", sandbox.info["base_url"],
                "--key", sandbox.info["api_key"],
                "--recording", str(recording),
                "--checks", str(checks),
                "--concurrency", str(args.concurrency),
                "--server-pid", str(sandbox.pid),
            )  # fmt: skip

        for name in ("raw", "helios"):
            side(name, min(args.checks, 500))  # warm-up: page cache, sandbox code paths
        results: dict[str, list[dict[str, float]]] = {"raw": [], "helios": []}
        for _ in range(args.rounds):
            for name in ("raw", "helios"):
                results[name].append(side(name, args.checks))

    best = {name: max(rounds, key=lambda r: r["checks"] / r["elapsed"]) for name, rounds in
            results.items()}  # fmt: skip
    for name, figures in best.items():
        if figures["ok"] != args.checks:
            sys.exit(f"{name}: only {figures['ok']:.0f} of {args.checks} checks ended COMPLETE_OK")
    rate = {name: f["checks"] / f["elapsed"] for name, f in best.items()}
    share = {name: f["server_cpu"] / f["elapsed"] for name, f in best.items()}
    client_share = {name: f["cpu"] / f["elapsed"] for name, f in best.items()}
    cpu_ms = {name: f["cpu"] / f["checks"] * 1e3 for name, f in best.items()}
    sandbox_ms = {name: f["server_cpu"] / f["checks"] * 1e3 for name, f in best.items()}
    print(
        f"fanout: {args.checks} checks, concurrency {args.concurrency}, best of {args.rounds}: "
        f"throughput helios {rate['helios']:.0f}/s, raw aiohttp {rate['raw']:.0f}/s, "
        f"ratio {ratio(rate['helios'], rate['raw']):.2f}; client CPU per check helios "
        f"{cpu_ms['helios']:.2f} ms, raw {cpu_ms['raw']:.2f} ms, CPU-bound ratio "
        f"{ratio(cpu_ms['raw'], cpu_ms['helios']):.2f} (target >= 0.9); "
        f"peak RSS helios {best['helios']['rss_mb']:.0f} MB, raw {best['raw']['rss_mb']:.0f} MB "
        f"(target < 200); sandbox CPU per check {sandbox_ms['helios']:.2f} ms; "
        f"CPU share of one core client/sandbox: helios {client_share['helios']:.0%}/"
        f"{share['helios']:.0%}, raw {client_share['raw']:.0%}/{share['raw']:.0%}; {load()}"
    )


if __name__ == "__main__":
    main()
