"""``cli/_redraw``: a status line redrawn in place on a terminal, a whole line each elsewhere."""

from __future__ import annotations

import io
import re

from rich.console import Console

from helios_async.cli._redraw import redrawn_line

LINES = ["b: 3 submitted, 3 pending", "b: 3 submitted, 1 pending", "b: 3 submitted, 0 pending"]


def screen(written: str) -> list[str]:
    """The rows a terminal shows after ``written``: ``\\r`` plus erase-line (``ESC[2K``)
    wipes the row the cursor is on; cursor show/hide codes draw nothing."""
    rows = [""]
    for part in re.split(r"(\r\x1b\[2K|\n)", re.sub(r"\x1b\[\?25[lh]", "", written)):
        if part == "\n":
            rows.append("")
        elif part == "\r\x1b[2K":
            rows[-1] = ""
        else:
            rows[-1] += part
    return [row for row in rows if row]


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_off_a_terminal_every_update_is_a_plain_line_of_its_own() -> None:
    out = io.StringIO()
    with redrawn_line(out) as show:
        for line in LINES:
            show(line)
    assert out.getvalue() == "".join(f"{line}\n" for line in LINES)
    assert screen(out.getvalue()) == LINES  # nothing wiped: a log keeps every update


def test_on_a_forced_terminal_console_the_line_is_rewritten_in_place() -> None:
    """Each update moves the cursor back over the line before it and erases it (ANSI), so
    the terminal shows one line; the last one stays after the block."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, color_system=None)
    with redrawn_line(io.StringIO(), console=console) as show:
        for line in LINES:
            show(line)
    written = out.getvalue()
    assert [line for line in LINES if line in written] == LINES  # each update was drawn
    assert screen(written) == [LINES[-1]]  # ... over the one before: one row is left


def test_a_stream_that_is_a_terminal_gets_the_redraw_by_default() -> None:
    out = _Terminal()
    with redrawn_line(out) as show:
        for line in LINES:
            show(line)
    assert screen(out.getvalue()) == [LINES[-1]]
