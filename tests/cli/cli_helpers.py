"""Helpers of the command-line tests: CSV manifests, and the command run as a process."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path

from helios_async.testing import Sandbox

HEADER = ["recording", "user_label", "date_of_birth", "birth_sex", "language"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    """A manifest at ``path``: ``header``, then ``rows``."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([header, *rows])
    return path


REPO = Path(__file__).resolve().parents[2]


def shell_env(**changes: str | None) -> dict[str, str]:
    """The environment a user's shell would give the command: this one, warnings as errors,
    with ``changes`` applied (None removes a variable)."""
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def shell(
    *argv: str | Path, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``helios-async ARGV...`` as a process (``python -m helios_async``), as a shell runs it;
    stdout and stderr decoded as UTF-8."""
    done = subprocess.run(
        [sys.executable, "-m", "helios_async", *map(str, argv)],
        cwd=REPO,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        env=env if env is not None else shell_env(),
        timeout=120,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


async def ashell(
    *argv: str | Path, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """:func:`shell` without blocking the event loop (for a sandbox in the test's loop):
    the exit status, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "helios_async",
        *map(str, argv),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env if env is not None else shell_env(),
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def start_command(sandbox: Sandbox, *argv: str | Path) -> asyncio.subprocess.Process:
    """``helios-async ARGV...`` started as a process on the real-API path, pointed at
    ``sandbox`` (``THYMIA_BASE_URL``, ``THYMIA_API_KEY``), stdout and stderr piped."""
    env = shell_env(THYMIA_BASE_URL=sandbox.base_url, THYMIA_API_KEY=sandbox.api_key)
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "helios_async", *map(str, argv)),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
