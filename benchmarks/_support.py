"""Shared pieces of the benchmarks: the sandbox in a process of its own, child processes
that report their figures as one JSON line, CPU accounting, and test recordings.

Nothing here runs on import. Every benchmark talks only to 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import platform
import random
import resource
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine() -> str:
    """One line about this machine, for the results."""
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}, {platform.system()} {platform.machine()}"
    )


def load() -> str:
    """The 1-minute load average: other work on this machine skews every figure."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(**figures: Any) -> None:
    """A child's result: one JSON line on stdout, the last thing it prints."""
    print(json.dumps(figures), flush=True)


class Server:
    """A server script run as a child process (so it has a core of its own).

    The script prints one JSON line (its addresses, key) once listening, and stops on
    SIGTERM. ``cpu()`` reads the CPU seconds it has used so far.
    """

    def __init__(self, script: str, *args: str) -> None:
        self._process = subprocess.Popen(
            [PYTHON, str(HERE / script), *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=10)
            raise RuntimeError(f"{script} did not start (status {self._process.returncode})")
        self.info: dict[str, Any] = json.loads(line)
        self.pid = self._process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def run_child(script: str, *args: str, server: Server | None = None, timeout: float = 900) -> Any:
    """Run ``python benchmarks/<script> args`` and return its JSON result, adding the wall
    time and, if given, the CPU seconds ``server`` used meanwhile."""
    before = server.cpu() if server is not None else 0.0
    started = time.perf_counter()
    result = subprocess.run(
        [PYTHON, str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["child_wall"] = wall
    if server is not None:
        figures["server_cpu"] = server.cpu() - before
    return figures


def noise_wav(seconds: float, *, rate: int = 2000) -> bytes:
    """A small valid WAV (8-bit mono, ``rate`` Hz) of noise: passes every sandbox check
    (long enough, not silent) with few bytes to move: 21 KB for 10.5 s at 2 kHz."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(rate)
        noise = random.Random(4)
        writer.writeframes(bytes(noise.randrange(256) for _ in range(int(seconds * rate))))
    return buffer.getvalue()


def big_wav(path: Path, size: int, *, block: int = 1 << 20) -> Path:
    """Write a WAV of ``size`` bytes (header + 16-bit mono 16 kHz noise) without holding
    it in memory; returns ``path``."""
    data_size = size - 44
    header = (
        b"RIFF"
        + (36 + data_size).to_bytes(4, "little")
        + b"WAVEfmt "
        + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")  # PCM
        + (1).to_bytes(2, "little")  # mono
        + (16000).to_bytes(4, "little")
        + (32000).to_bytes(4, "little")  # byte rate
        + (2).to_bytes(2, "little")  # block align
        + (16).to_bytes(2, "little")  # bits per sample
        + b"data"
        + data_size.to_bytes(4, "little")
    )
    chunk = random.Random(5).randbytes(block)
    with path.open("wb") as stream:
        stream.write(header)
        left = data_size
        while left > 0:
            left -= stream.write(chunk[: min(block, left)])
    return path


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")
