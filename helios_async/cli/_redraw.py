"""A status line shown again and again: redrawn in place on a terminal, a line each elsewhere.

On a terminal (``out.isatty()``) ``rich.live`` keeps one line and rewrites it, so a watch
does not scroll; anywhere else (a pipe, a log file, CI) every update is a whole line of its
own, printed and flushed, so ``| tee``, ``grep`` and log collectors see each one. ``rich`` is
the ``cli`` extra: without it a terminal gets the lines too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["redrawn_line"]


@contextlib.contextmanager
def redrawn_line(out: TextIO, *, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """Yield ``show(line)``, which puts ``line`` on ``out`` in place of the one before it.

    ``console`` (a ``rich.console.Console``) forces the in-place redraw onto that console;
    by default it is used when ``out`` is a terminal and ``rich`` is installed. The last line
    shown stays on screen after the block.
    """
    if console is None and _is_terminal(out):
        console = _console(out)
    if console is None:

        def show(line: str) -> None:
            print(line, file=out, flush=True)

        yield show
        return
    from rich.live import Live
    from rich.text import Text

    with Live(console=console, auto_refresh=False, transient=False) as live:

        def redraw(line: str) -> None:
            live.update(Text(line), refresh=True)

        yield redraw


def _is_terminal(out: TextIO) -> bool:
    isatty = getattr(out, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


def _console(out: TextIO) -> Console | None:
    try:
        from rich.console import Console
    except ModuleNotFoundError:
        return None
    return Console(file=out)
