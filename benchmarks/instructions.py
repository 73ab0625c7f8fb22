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

Prints one line: instructions per call of each side (median and range over the repeats), and
the CPU-bound ratio raw / helios (target >= 0.90). ``--profile`` instead runs the helios side
once, without valgrind, under cProfile and prints the functions that cost the most (own time),
to see where the instructions go.
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


async def helios_side(base_url: str, key: str, run_id: str, calls: int, conc: int) -> None:
    from helios_async import HeliosClient

    async with HeliosClient(key, base_url=base_url, connection_limit=conc) as client:

        async def worker(count: int) -> None:
            for _ in range(count):
                run = await client.get_model_run(run_id)
                assert run.section is not None

        await worker(WARM_UP)
        await asyncio.gather(*[worker(calls // conc) for _ in range(conc)])


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
            "--base-url", info["base_url"], "--key", info["api_key"], "--run-id", info["run_id"],
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
    parser.add_argument("--side", choices=["helios", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:
        side = helios_side if args.side == "helios" else raw_side
        asyncio.run(side(args.base_url, args.key, args.run_id, args.calls, args.concurrency))
        return

    if args.profile:
        profile(args)
        return
    small, large = args.calls, 3 * args.calls
    per_call: dict[str, list[float]] = {"raw": [], "helios": []}
    with Server("_sandbox_server.py") as sandbox:
        info = dict(sandbox.info)
        info["run_id"] = asyncio.run(make_run(info["base_url"], info["api_key"]))
        for _ in range(args.repeats):
            for side in ("raw", "helios"):
                few = counted(side, small, args, info)
                many = counted(side, large, args, info)
                per_call[side].append((many - few) / (large - small))
                print(f"  {side}: {per_call[side][-1]:,.0f} instructions/call", file=sys.stderr)

    def shown(values: list[float]) -> str:
        return (
            f"{statistics.median(values) / 1000:,.0f}k "
            f"({min(values) / 1000:,.0f}k to {max(values) / 1000:,.0f}k)"
        )

    ratios = [ratio(r, h) for r, h in zip(per_call["raw"], per_call["helios"], strict=True)]
    print(
        f"instructions: get_model_run vs raw aiohttp GET + json(), {small} and {large} calls, "
        f"concurrency {args.concurrency}, {args.repeats} repeats: per call helios "
        f"{shown(per_call['helios'])}, raw {shown(per_call['raw'])}; CPU-bound ratio "
        f"{statistics.median(ratios):.3f} ({min(ratios):.3f} to {max(ratios):.3f}, "
        f"target >= 0.90); {load()}"
    )


if __name__ == "__main__":
    main()
