"""The ``helios-async`` command line (``python -m helios_async`` is the same).

A user of the library's public names, kept apart from it: ``import helios_async`` never
loads this package, and only the ``batch`` command needs ``rich`` (the ``cli`` extra).
Importing this package loads nothing else: :func:`main` imports the program when it runs,
so a Ctrl-C while it loads ends it quietly with status 130, not a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

__all__ = ["main"]

_EXIT_INTERRUPTED = 130  # as _args.EXIT_INTERRUPTED, without importing it


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (see ``_commands.main``)."""
    try:
        from helios_async.cli._commands import main as run
    except KeyboardInterrupt:  # while loading: nothing started; --json still gets its answer
        words = list(sys.argv[1:] if argv is None else argv)
        if "--json" in (words[: words.index("--")] if "--" in words else words):
            answer = '{"interrupted": {"signal": "SIGINT", "model_run_id": null, "resume": null}}'
            print(answer, file=out if out is not None else sys.stdout)
        print("helios-async: interrupted", file=sys.stderr)
        return _EXIT_INTERRUPTED
    try:
        return run(argv, out=out)
    except KeyboardInterrupt:  # past the command's own handling (its answer is out)
        print("helios-async: interrupted", file=sys.stderr)
        return _EXIT_INTERRUPTED
