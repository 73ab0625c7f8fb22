"""Instructions per call: ``HeliosClient.get_model_run`` against raw aiohttp GET + ``json()``,
counted by valgrind's callgrind, so the figure is repeatable to about 1 % on a loaded machine
where CPU timings are not.

Run by hand (needs ``valgrind`` on the PATH)::

    python benchmarks/instructions.py [--calls 400] [--concurrency 8] [--repeats 2]

The sandbox runs in a process of its own, outside valgrind, with one ``COMPLETE_OK`` run (the
§7 shape). Each side runs in a fresh child under ``valgrind --tool=callgrind`` twice: once
making ``--calls`` GETs and once making three times as many, ``--concurrency`` at a time, after
the same warm-up. The difference of the two totals divided by the difference of the counts is
the instructions one call costs, with start-up, imports and warm-up cancelled out. Sides
alternate; ``--repeats`` rounds give the spread. ``PYTHONHASHSEED=0`` in every child.

Both sides build what they would build in an application once (a client, a session) and
then only call; the raw side parses with ``response.json()``, the client into its models.
Sides (``--sides``): ``raw``; ``helios`` (the client as installed: with the ``benchmarks``
extra, OpenTelemetry's API is present and no SDK is set up); ``helios-off`` (with
``Telemetry(enabled=False)``, the same path as a client without the API); ``wait`` and
``wait-off``: ``wait_for_model_run`` on a run that never finishes, pauses slept as
``asyncio.sleep(0)``, each look counted as one call, to compare a poll look with a GET.

Prints one line: instructions per call of each side (median and range over the repeats), the
CPU-bound ratio raw / helios (target >= 0.90) and a look's cost over a GET's (target <= 1.2).
``--profile`` instead runs the helios side once, without valgrind, under cProfile and prints
the functions that cost the most (own time), to see where the instructions go.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
from _support import HERE, PYTHON, Server, load, ratio
from overhead import make_run

WARM_UP = 50


async def helios_side(
    base_url: str, key: str, run_id: str, calls: int, conc: int, *, telemetry: bool = True
) -> None:
    from helios_async import HeliosClient, Telemetry

    async with HeliosClient(
        key, base_url=base_url, connection_limit=conc, telemetry=Telemetry(enabled=telemetry)
    ) as client:

        async def worker(count: int) -> None:
            for _ in range(count):
                run = await client.get_model_run(run_id)
                assert run.section is not None

        await worker(WARM_UP)
        await asyncio.gather(*[worker(calls // conc) for _ in range(conc)])


class _Enough(Exception):
    """Raised by the on_poll hook to end a wait after its share of looks."""


async def wait_side(
    base_url: str, key: str, run_id: str, calls: int, conc: int, *, telemetry: bool = True
) -> None:
    """Waits on a run that never finishes, ``calls`` looks in all: pauses slept as
    ``asyncio.sleep(0)``, no jitter, each wait ended by its hook after its share of looks."""
    from helios_async import HeliosClient, HookError, Hooks, PollPolicy, Telemetry

    async def instant(_seconds: float) -> None:
        await asyncio.sleep(0)

    async def waits(client: HeliosClient, looks: int) -> None:
        seen = 0

        def on_poll(_run: object) -> None:
            nonlocal seen
            seen += 1
            if seen == looks:
                raise _Enough

        async with client.with_options(hooks=Hooks(on_poll=on_poll)) as view:
            try:
                await view.wait_for_model_run(run_id, timeout=3600)
            except HookError as exc:  # what a hook raises reaches the caller as its cause
                if not isinstance(exc.__cause__, _Enough):
                    raise

    poll = PollPolicy(first_interval=1e-4, interval=1e-4, jitter=0.0, sleep=instant)
    async with HeliosClient(
        key,
        base_url=base_url,
        connection_limit=conc,
        poll=poll,
        telemetry=Telemetry(enabled=telemetry),
    ) as client:
        await waits(client, WARM_UP)
        await asyncio.gather(*[waits(client, calls // conc) for _ in range(conc)])


async def raw_side(base_url: str, key: str, run_id: str, calls: int, conc: int) -> None:
    url = f"{base_url}/v1/models/mental-wellness/{run_id}"
    headers = {"x-api-key": key}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as session:

        async def worker(count: int) -> None:
            for _ in range(count):
                async with session.get(url, headers=headers) as response:
                    response.raise_for_status()
                    run = await response.json()
                assert run["results"]["sections"]

        await worker(WARM_UP)
        await asyncio.gather(*[worker(calls // conc) for _ in range(conc)])


async def make_unfinished_run(base_url: str, key: str) -> str:
    """A run that is created and never given a recording: it stays CREATED."""
    body = {
        "user": {"userLabel": "bench", "dateOfBirth": "1990-08-24", "birthSex": "MALE"},
        "language": "en-GB",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url}/v1/models/mental-wellness", json=body, headers={"x-api-key": key}
        ) as response,
    ):
        return str((await response.json())["id"])


SIDES = {
    "raw": lambda *a: raw_side(*a),
    "helios": lambda *a: helios_side(*a),
    "helios-off": lambda *a: helios_side(*a, telemetry=False),
    "wait": lambda *a: wait_side(*a),
    "wait-off": lambda *a: wait_side(*a, telemetry=False),
}


def total_instructions(out_file: Path) -> int:
    """The ``totals:`` (or ``summary:``) line of a callgrind output file."""
    for line in out_file.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def counted(side: str, calls: int, args: argparse.Namespace, info: dict[str, str]) -> int:
    """Instructions a whole child run of ``side`` making ``calls`` GETs executed."""
    with tempfile.TemporaryDirectory() as folder:
        out_file = Path(folder) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
            PYTHON, str(HERE / "instructions.py"), "--side", side,
            "--base-url", info["base_url"], "--key", info["api_key"],
            "--run-id", info["unfinished_id" if side.startswith("wait") else "run_id"],
            "--calls", str(calls), "--concurrency", str(args.concurrency),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{side} x{calls} failed:\n{result.stderr[-3000:]}")
        return total_instructions(out_file)


def profile(args: argparse.Namespace) -> None:
    import cProfile
    import pstats

    with Server("_sandbox_server.py") as sandbox:
        info = dict(sandbox.info)
        run_id = asyncio.run(make_run(info["base_url"], info["api_key"]))
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(
            helios_side(info["base_url"], info["api_key"], run_id, args.calls, args.concurrency)
        )
        profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--side", choices=list(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:
        run = SIDES[args.side]
        asyncio.run(run(args.base_url, args.key, args.run_id, args.calls, args.concurrency))
        return

    if args.profile:
        profile(args)
        return
    small, large = args.calls, 3 * args.calls
    sides = args.sides.split(",")
    per_call: dict[str, list[float]] = {side: [] for side in sides}
    with Server("_sandbox_server.py") as sandbox:
        info = dict(sandbox.info)
        info["run_id"] = asyncio.run(make_run(info["base_url"], info["api_key"]))
        info["unfinished_id"] = asyncio.run(make_unfinished_run(info["base_url"], info["api_key"]))
        for _ in range(args.repeats):
            for side in sides:
                few = counted(side, small, args, info)
                many = counted(side, large, args, info)
                per_call[side].append((many - few) / (large - small))
                print(f"  {side}: {per_call[side][-1]:,.0f} instructions/call", file=sys.stderr)

    def shown(values: list[float]) -> str:
        return (
            f"{statistics.median(values) / 1000:,.0f}k "
            f"({min(values) / 1000:,.0f}k to {max(values) / 1000:,.0f}k)"
        )

    def ratios(top: str, bottom: str) -> str:
        if top not in per_call or bottom not in per_call:
            return ""
        values = [ratio(t, b) for t, b in zip(per_call[top], per_call[bottom], strict=True)]
        return (
            f"{top}/{bottom} {statistics.median(values):.3f} "
            f"({min(values):.3f} to {max(values):.3f})"
        )

    figures = ", ".join(f"{side} {shown(values)}" for side, values in per_call.items())
    compared = "; ".join(
        text
        for text in (
            ratios("raw", "helios-off") + " (CPU-bound ratio, telemetry off, target >= 0.90)",
            ratios("raw", "helios") + " (OpenTelemetry API present, no SDK)",
            ratios("wait-off", "helios-off") + " (a poll look / a GET, target <= 1.2)",
            ratios("wait", "helios"),
        )
        if text and text[0] != " "
    )
    print(
        f"instructions: per call, {small} and {large} calls, concurrency {args.concurrency}, "
        f"{args.repeats} repeats: {figures}; {compared}; {load()}"
    )


if __name__ == "__main__":
    main()
