"""Import time: ``import helios_async`` against ``import aiohttp``, each in a fresh
interpreter, interleaved, many runs; and the first use, ``from helios_async import
HeliosClient`` (``import helios_async`` imports a public name's module when the name is first
read, so the bare import is cheap and the client is paid for on first use).

Run by hand::

    python benchmarks/imports.py [--runs 40]

Each run starts ``python -c`` once per statement, in a rotating order, and the child times
its own statement with ``time.perf_counter`` (wall) and ``time.process_time`` (CPU), so
interpreter start-up is left out. Both sides import from bytecode, as after ``pip install``
(which compiles a wheel's modules): the children share a bytecode cache of their own
(``PYTHONPYCACHEPREFIX``, a temporary folder, filled by the warm-up runs), so neither a
source checkout nor ``PYTHONDONTWRITEBYTECODE`` makes one side compile its source on every
run while the other reads ``.pyc`` files. ``--no-bytecode`` leaves the environment as it is.
``-X importtime`` is not used: it slows what it times. The
figures of a statement are the median over the runs, with the interquartile range; a ratio is
the median of the per-run ratios (each run's imports ran back to back, under the same load).
``--profile`` prints instead the twelve slowest modules of one ``from helios_async import
HeliosClient`` from ``-X importtime`` (self time, cumulative time), to see where the time goes.

Prints one line: each statement's time, and its ratio to ``import aiohttp`` (target <= 1.15
for the first use, ``from helios_async import HeliosClient``: the figure that counts, since
a program imports the package to use it; the bare import is shown beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile

from _support import PYTHON, load

PROBE = (
    "import time; w = time.perf_counter(); c = time.process_time(); {statement}; "
    "import json; print(json.dumps([time.perf_counter() - w, time.process_time() - c]))"
)
AIOHTTP = "import aiohttp"
BARE = "import helios_async"
FIRST_USE = "from helios_async import HeliosClient"
STATEMENTS = (AIOHTTP, BARE, FIRST_USE)


CHILD_ENV = dict(os.environ)


def timed(statement: str) -> tuple[float, float]:
    """(wall, CPU) seconds one fresh interpreter spends running ``statement``."""
    result = subprocess.run(
        [PYTHON, "-c", PROBE.format(statement=statement)],
        capture_output=True,
        text=True,
        check=True,
        env=CHILD_ENV,
    )
    wall, cpu = json.loads(result.stdout)
    return wall, cpu


def quartiles(values: list[float], *, scale: float = 1000, unit: str = " ms") -> str:
    q1, q3 = statistics.quantiles(values, n=4)[0::2]
    median = statistics.median(values)
    return f"{median * scale:.2f}{unit} (IQR {q1 * scale:.2f} to {q3 * scale:.2f})"


def profile() -> None:
    result = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", FIRST_USE],
        capture_output=True,
        text=True,
        check=True,
        env=CHILD_ENV,
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
    parser.add_argument("--no-bytecode", action="store_true", help="leave the environment as is")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="helios-imports-") as cache:
        if not args.no_bytecode:
            CHILD_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
            CHILD_ENV["PYTHONPYCACHEPREFIX"] = cache
        for statement in STATEMENTS:
            timed(statement)  # warm the file-system cache and fill the bytecode cache
        if args.profile:
            profile()
        else:
            compare(args.runs, bytecode=not args.no_bytecode)


def compare(runs: int, *, bytecode: bool) -> None:
    figures: dict[str, list[tuple[float, float]]] = {statement: [] for statement in STATEMENTS}
    for run in range(runs):
        shift = run % len(STATEMENTS)
        for statement in STATEMENTS[shift:] + STATEMENTS[:shift]:
            figures[statement].append(timed(statement))
    parts = []
    for statement in STATEMENTS:
        wall = [w for w, _ in figures[statement]]
        cpu = [c for _, c in figures[statement]]
        part = f"{statement} wall {quartiles(wall)}, CPU {quartiles(cpu)}"
        if statement != AIOHTTP:
            ratios = [
                c / a for (_, c), (_, a) in zip(figures[statement], figures[AIOHTTP], strict=True)
            ]
            part += f", CPU ratio to aiohttp {quartiles(ratios, scale=1, unit='')}"
        parts.append(part)
    print(
        f"imports: {runs} interleaved runs, {'from bytecode' if bytecode else 'environment as is'}:"
        f" {'; '.join(parts)} "
        f"(target <= 1.15 for the first use, {FIRST_USE}); {load()}"
    )


if __name__ == "__main__":
    main()
