"""The command line's standard streams: what it writes when they are odd, and ``-`` for stdin.

* A closed pipe (``helios-async demo | head -1``): the rest of the output is dropped and the
  command exits at once with status 1, without a traceback (the recipe of the Python docs'
  "Note on SIGPIPE": point stdout at ``os.devnull`` so the interpreter's own last flush
  cannot fail again).
* A stream that cannot encode a character (``PYTHONIOENCODING=ascii``, a C locale): the
  character is written as a ``\\N{...}``/``\\xNN`` escape instead of failing
  (``errors="backslashreplace"`` on stdout and stderr).
* ``check -`` reads the recording from stdin into memory, at most :data:`STDIN_LIMIT` bytes.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import BinaryIO

from helios_async import RecordingError

__all__ = [
    "EXIT_BROKEN_PIPE",
    "STDIN_LIMIT",
    "drop_stdout",
    "forgiving_streams",
    "read_stdin_recording",
]

STDIN_LIMIT = 256 << 20
"""Bytes ``check -`` accepts on stdin (256 MiB), held in memory: a recording under 3 minutes
is far smaller in every supported format (3 minutes of 48 kHz stereo 16-bit WAV is 35 MB)."""
EXIT_BROKEN_PIPE = 1
"""The exit status when stdout's reader went away (what Python itself returns on EPIPE)."""


@contextlib.contextmanager
def forgiving_streams() -> Iterator[None]:
    """Write stdout and stderr with ``backslashreplace`` for the duration; restore after."""
    restore: list[tuple[io.TextIOWrapper, str | None]] = []
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            restore.append((stream, stream.errors))
            stream.reconfigure(errors="backslashreplace")
    try:
        yield
    finally:
        for stream, errors in restore:
            with contextlib.suppress(ValueError):  # closed meanwhile
                stream.reconfigure(errors=errors)


def drop_stdout() -> None:
    """After a broken pipe: send what stdout still holds, and all later writes, nowhere."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def read_stdin_recording(stdin: BinaryIO | None = None) -> bytes:
    """The recording piped to stdin, whole (at most :data:`STDIN_LIMIT` bytes).

    Raises:
        RecordingError: stdin is a terminal (nothing piped), or holds more than the limit.
    """
    stream = stdin if stdin is not None else sys.stdin.buffer
    if stream.isatty():
        raise RecordingError(
            "recording", "'-' reads the recording from stdin; pipe or redirect a file into it"
        )
    data = stream.read(STDIN_LIMIT + 1)
    if len(data) > STDIN_LIMIT:
        raise RecordingError(
            "recording", f"stdin holds more than {STDIN_LIMIT >> 20} MiB; pass the file's path"
        )
    return data
