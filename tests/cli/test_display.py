"""The batch progress view on a terminal."""

from __future__ import annotations

import io
import re

from helios_async.cli._display import BatchDisplay, BatchStats


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_done_failed_in_flight_and_rate() -> None:
    stream = FakeTerminal()
    stats = BatchStats(rows=10, to_do=10)
    with BatchDisplay(stream, stats, in_flight=lambda: 4) as display:
        stats.ok, stats.bad = 3, 1
        display.advance()
        display.note("line 7: bad row, skipped: nope")
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())
    for text in ("4/10", "1 failed", "4 in flight", "rows/s", "line 7: bad row"):
        assert text in shown
