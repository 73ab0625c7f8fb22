"""The batch progress view on a terminal."""

from __future__ import annotations

import io
import re

from helios_async.cli._display import BatchDisplay, BatchStats, print_summary


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


def test_off_a_terminal_the_closing_line_does_not_repeat_the_last_one() -> None:
    """After Ctrl-C nothing more finishes: the line printed on exit would be the last
    progress line again, so it is left out; a line with new figures is printed."""
    stream = io.StringIO()
    stats = BatchStats(rows=10, to_do=10)
    with BatchDisplay(stream, stats, in_flight=lambda: 0, plain_interval=0) as display:
        stats.ok = 3
        display.advance()  # printed: the interval (0) has passed
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("3/10 rows done")
    stream = io.StringIO()
    with BatchDisplay(stream, stats, in_flight=lambda: 0, plain_interval=3600) as display:
        stats.ok = 4
        display.advance()  # not printed: too soon
    assert [line.split(",")[0] for line in stream.getvalue().splitlines()] == ["4/10 rows done"]


def test_the_summary_off_a_terminal_has_no_wrapped_or_padded_lines() -> None:
    """The title and the closing sentences are one line each, whatever their length."""
    stream = io.StringIO()
    stats = BatchStats(rows=3, to_do=3, stopped="Ctrl-C", repaired=12)
    stats.abandoned = [f"ddebd75b-99b3-42b4-ac65-5ce852c688e{n}" for n in range(3)]
    stats.ended = stats.started
    long_path = "/data/" + "a-very-long-folder-name/" * 4 + "manifest.csv"
    print_summary(
        stream, stats, manifest=long_path, output=long_path + ".jsonl", journal="out.journal"
    )
    lines = stream.getvalue().splitlines()
    assert lines[0] == f"helios-async batch: {long_path} -> {long_path}.jsonl"
    assert all(line == line.rstrip() for line in lines)
    [abandoned] = [line for line in lines if "cancelled in flight" in line]
    assert abandoned.endswith(", ".join(stats.abandoned))
