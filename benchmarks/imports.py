"""Import time: ``import helios_async`` against ``import aiohttp``, each in a fresh
interpreter, interleaved, many runs.

Run by hand::

    python benchmarks/imports.py [--runs 40]

Each run starts ``python -c`` twice, once per module, in alternating order, and the child
times its own ``import`` with ``time.perf_counter`` (wall) and ``time.process_time`` (CPU),
so interpreter start-up is left out. ``-X importtime`` is not used: it slows what it times.
The figures of a side are the median over the runs, with the interquartile range; the ratio
is the median of the per-run ratios (each run's two imports ran back to back, under the same
load). ``--profile`` prints instead the twelve slowest modules of one ``import helios_async``
from ``-X importtime`` (self time, cumulative time), to see where the time goes.

Prints one line: each side's import time, and the ratio helios / aiohttp (target <= 1.15).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess

from _support import PYTHON, load

PROBE = (
    "import time; w = time.perf_counter(); c = time.process_time(); import {module}; "
    "import json; print(json.dumps([time.perf_counter() - w, time.process_time() - c]))"
)


def timed(module: str) -> tuple[float, float]:
    """(wall, CPU) seconds one fresh interpreter spends importing ``module``."""
    result = subprocess.run(
        [PYTHON, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = json.loads(result.stdout)
    return wall, cpu


def quartiles(values: list[float], *, scale: float = 1000, unit: str = " ms") -> str:
    q1, q3 = statistics.quantiles(values, n=4)[0::2]
    median = statistics.median(values)
    return f"{median * scale:.2f}{unit} (IQR {q1 * scale:.2f} to {q3 * scale:.2f})"


def profile() -> None:
    result = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", "import helios_async"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines()[1:]:
        self_us, cumulative_us, name = (part.strip() for part in line.split("|", 2)[0:3])
        rows.append((int(self_us.rpartition(" ")[2]), int(cumulative_us), name))
    for self_us, cumulative_us, name in sorted(rows, reverse=True)[:12]:
        print(f"{self_us / 1000:7.1f} ms self {cumulative_us / 1000:7.1f} ms cumulative  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.profile:
        profile()
        return
    for module in ("aiohttp", "helios_async"):
        timed(module)  # warm the file-system cache and the bytecode
    figures: dict[str, list[tuple[float, float]]] = {"aiohttp": [], "helios_async": []}
    for run in range(args.runs):
        order = ("aiohttp", "helios_async") if run % 2 == 0 else ("helios_async", "aiohttp")
        for module in order:
            figures[module].append(timed(module))
    wall = {module: [w for w, _ in rows] for module, rows in figures.items()}
    cpu = {module: [c for _, c in rows] for module, rows in figures.items()}
    wall_ratios = [h / a for h, a in zip(wall["helios_async"], wall["aiohttp"], strict=True)]
    cpu_ratios = [h / a for h, a in zip(cpu["helios_async"], cpu["aiohttp"], strict=True)]
    print(
        f"imports: {args.runs} interleaved runs: import helios_async wall "
        f"{quartiles(wall['helios_async'])}, CPU {quartiles(cpu['helios_async'])}; import "
        f"aiohttp wall {quartiles(wall['aiohttp'])}, CPU {quartiles(cpu['aiohttp'])}; ratio "
        f"helios/aiohttp wall {quartiles(wall_ratios, scale=1, unit='')}, CPU "
        f"{quartiles(cpu_ratios, scale=1, unit='')} (target <= 1.15); {load()}"
    )


if __name__ == "__main__":
    main()
