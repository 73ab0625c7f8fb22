"""Fleet benchmark: wellness checks per second with one and with two worker processes, Redis
commands per check, and each worker's memory (issue 11).

Run by hand (needs the fleet extra and Debian's ``redis-server`` on the PATH)::

    python benchmarks/fleet.py [--checks 2000] [--concurrency 50]

A private ``redis-server`` (127.0.0.1, a free port, append-only, a temporary folder) and the
sandbox (processing delay 0, bodies not recorded) each run in a process of their own; each
round starts fresh worker processes (``helios-async fleet worker``) on a fleet of its own,
submits ``--checks`` jobs from this process (a 21 KB, 10.5 s noise WAV) and reads every
outcome. Each check is create, upload and polls until ``COMPLETE_OK``, journaled in Redis.

Prints one line: checks per second with one worker and with two (and their ratio), Redis
commands per check (``INFO commandstats``, which counts the commands a Lua script runs as
well as the script's own EVALSHA; everything: Docket's, the journal's, the results
stream's, the submitter's and the reader's, idle polling too) and how many of them were
script calls, each worker's peak RSS, the CPU seconds
the sandbox and Redis used per 1,000 checks, and the load average. On 2 cores the workers,
the sandbox, Redis and the submitter share two cores: two workers cannot double one.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _support import PYTHON, Server, cpu_seconds, load, noise_wav

ROOT = Path(__file__).resolve().parents[1]


class Redis:
    """A private redis-server, stopped by its PID."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(port)),
                *("--dir", str(folder), "--appendonly", "yes", "--save", ""),
                *("--logfile", str(folder / "redis.log")),
            ]
        )
        self.pid = self._process.pid
        for _ in range(100):
            if self.cli("ping") == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            ["redis-cli", "-u", self.url, *args], capture_output=True, text=True, check=False
        )
        return result.stdout.strip()

    def commands(self) -> dict[str, int]:
        """Calls per command since the last ``CONFIG RESETSTAT``, inside scripts too."""
        calls: dict[str, int] = {}
        for line in self.cli("info", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, _, stats = line.removeprefix("cmdstat_").partition(":")
                fields = dict(part.split("=") for part in stats.split(","))
                calls[name] = int(fields["calls"])
        return calls

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=20)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def round_of(
    workers: int, checks: int, concurrency: int, redis: Redis, sandbox: Server, folder: Path
) -> dict[str, float]:
    """Start ``workers`` worker processes on a fleet of their own, time ``checks``, stop."""
    fleet_name = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "THYMIA_API_KEY": sandbox.info["api_key"]}
    args = [
        *("-m", "helios_async", "fleet", "worker", "--redis", redis.url, "--fleet", fleet_name),
        *("--concurrency", str(concurrency), "--poll-interval", "0.05"),
        *("--base-url", sandbox.info["base_url"]),
    ]
    processes = []
    for number in range(workers):
        with (folder / f"worker-{workers}-{number}.log").open("wb") as log:
            processes.append(
                subprocess.Popen([PYTHON, *args], env=env, cwd=ROOT, stdout=log, stderr=log)
            )
    try:
        time.sleep(3)  # let the workers start and connect
        figures = asyncio.run(measure(fleet_name, checks, redis, sandbox, folder / "noise.wav"))
        figures["rss"] = max(peak_rss_mb(process.pid) for process in processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    return figures


async def measure(
    fleet_name: str, checks: int, redis: Redis, sandbox: Server, wav: Path
) -> dict[str, float]:
    from helios_async import User, WellnessJob
    from helios_async.fleet import Fleet

    jobs = [
        WellnessJob(
            recording=wav,
            user=User(
                user_label=f"bench-{number}", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE"
            ),
            language="en-GB",
            key=f"bench-{number}",
        )
        for number in range(checks)
    ]
    async with Fleet(redis.url, batch="bench", fleet=fleet_name, max_pending=checks) as fleet:
        redis.cli("config", "resetstat")
        sandbox_before, redis_before = sandbox.cpu(), cpu_seconds(redis.pid)
        started = time.perf_counter()
        await fleet.submit(jobs)
        ok = sum([outcome.ok async for outcome in fleet.outcomes()])
        elapsed = time.perf_counter() - started
        commands = redis.commands()
        sandbox_cpu = sandbox.cpu() - sandbox_before
        redis_cpu = cpu_seconds(redis.pid) - redis_before
    if ok != checks:
        raise RuntimeError(f"{checks - ok} checks failed")
    return {
        "rate": checks / elapsed,
        "commands": sum(commands.values()) / checks,
        "scripts": (commands.get("evalsha", 0) + commands.get("eval", 0)) / checks,
        "sandbox_cpu": 1000 * sandbox_cpu / checks,
        "redis_cpu": 1000 * redis_cpu / checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    options = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("needs redis-server on the PATH (apt-get install redis-server)")
    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder)
        (where / "noise.wav").write_bytes(noise_wav(10.5))
        redis = Redis(where)
        try:
            with Server("_sandbox_server.py", "--delay", "0") as sandbox:
                one, two = (
                    round_of(n, options.checks, options.concurrency, redis, sandbox, where)
                    for n in (1, 2)
                )
        finally:
            redis.close()
    print(
        f"fleet: {options.checks} checks, concurrency {options.concurrency} per worker: "
        f"1 worker {one['rate']:.0f} checks/s, 2 workers {two['rate']:.0f} checks/s "
        f"(x{two['rate'] / one['rate']:.2f}); Redis commands per check {one['commands']:.1f} "
        f"(1 worker), {two['commands']:.1f} (2), of which Lua scripts called "
        f"{two['scripts']:.1f}; worker peak RSS "
        f"{one['rss']:.0f} MB (1), {two['rss']:.0f} MB (2); CPU s per 1,000 checks: sandbox "
        f"{two['sandbox_cpu']:.1f}, Redis {two['redis_cpu']:.1f} (2 workers); {load()}"
    )


if __name__ == "__main__":
    main()
