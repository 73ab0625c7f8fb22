"""The batch output: whole JSON lines, and a partial last line cut on resume (issue 4)."""

from __future__ import annotations

from pathlib import Path

from helios_async.cli._output import ResultsFile, load_recorded


def test_results_are_whole_lines_and_a_partial_last_line_is_cut_on_resume(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.jsonl"
    with ResultsFile(path) as results:
        results.write({"line": 2, "row_hash": "aa", "note": "two\nlines, one record"})
        results.write({"line": 3, "row_hash": "bb"})
    assert len(path.read_bytes().splitlines()) == 2
    with path.open("ab") as stream:
        stream.write(b'not json\n{"line": 4, "row_hash": "c')  # a killed writer's leftovers
    recorded = load_recorded(path)
    assert recorded.digests == {"line:2": "aa", "line:3": "bb"}
    assert recorded.unreadable == 1
    assert recorded.repaired == len(b'{"line": 4, "row_hash": "c')
    assert path.read_bytes().endswith(b"not json\n")
    assert load_recorded(path).repaired == 0
