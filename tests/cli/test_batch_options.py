"""``helios-async batch`` as a shell runs it: what it refuses before creating its output or
printing a summary (exit 2, one line each), what its exit status says after a resume, how
its summary looks off a terminal, and ``--format csv``."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import HEADER, shell, write_csv

from helios_async._models import SCORE_NAMES
from helios_async.cli._args import EXIT_INVALID, EXIT_OK, EXIT_SOME_FAILED
from helios_async.testing import sample_recording

SANDBOX = ("--sandbox", "--sandbox-delay", "0", "--no-progress")


def manifest_of(folder: Path, rows: int, *, bad: int = 0, name: str = "manifest.csv") -> Path:
    """``rows`` good rows, then ``bad`` rows with an impossible date of birth."""
    shutil.copy(sample_recording(), folder / "speech.ogg")
    good = [["speech.ogg", f"opt-{n}", "1990-08-24", "FEMALE", "en-GB"] for n in range(rows)]
    wrong = [["speech.ogg", f"bad-{n}", "1990-02-30", "FEMALE", "en-GB"] for n in range(bad)]
    return write_csv(folder / name, good + wrong)


def assert_refused_before_anything(
    done: subprocess.CompletedProcess[str], out: Path, *words: str
) -> None:
    assert done.returncode == EXIT_INVALID
    assert done.stdout == ""  # no summary
    err = done.stderr
    assert len(err.splitlines()) == 1, err
    for word in words:
        assert word in err


def test_concurrency_0_is_refused_before_the_output_exists(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = shell("batch", manifest_of(tmp_path, 1), "--out", out, *SANDBOX, "--concurrency", "0")
    assert_refused_before_anything(done, out, "--concurrency", "1 or more")
    assert not out.exists()


@pytest.mark.parametrize("resume", [False, True])
def test_a_directory_as_out_gets_one_clear_message_with_or_without_resume(
    tmp_path: Path, resume: bool
) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    extra = ("--resume",) if resume else ()
    done = shell("batch", manifest_of(tmp_path, 1), "--out", folder, *SANDBOX, *extra)
    assert_refused_before_anything(done, folder, "is a directory")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("parent", ["missing", "a-file"])
def test_an_out_that_cannot_be_created_is_refused_before_anything(
    tmp_path: Path, parent: str
) -> None:
    (tmp_path / "a-file").write_text("")
    out = tmp_path / parent / "out.jsonl"
    done = shell("batch", manifest_of(tmp_path, 1), "--out", out, *SANDBOX)
    assert_refused_before_anything(done, out, "cannot be created")
    assert not out.exists()


def test_a_semicolon_separated_manifest_gets_a_hint(tmp_path: Path) -> None:
    """Decision: a manifest is comma-separated (its tags cells use ';' inside); a ';'
    header is refused with a hint rather than guessed at."""
    manifest = tmp_path / "semi.csv"
    manifest.write_text(";".join(HEADER) + "\nspeech.ogg;u;1990-08-24;FEMALE;en-GB\n")
    done = shell("batch", manifest, "--out", tmp_path / "out.jsonl", *SANDBOX)
    assert_refused_before_anything(done, tmp_path, "looks ';'-separated", "commas")
    assert not (tmp_path / "out.jsonl").exists()


def test_a_manifest_with_a_header_and_no_rows_exits_2(tmp_path: Path) -> None:
    manifest = write_csv(tmp_path / "empty.csv", [])
    out = tmp_path / "out.jsonl"
    done = shell("batch", manifest, "--out", out, *SANDBOX)
    assert_refused_before_anything(done, out, "no rows")
    assert not out.exists()


def test_resuming_over_failed_rows_exits_3_and_0_only_when_every_row_is_ok(
    tmp_path: Path,
) -> None:
    """Exit 0 means every row of the manifest is COMPLETE_OK in the output, also when the
    failures were recorded by an earlier run."""
    manifest, out = manifest_of(tmp_path, 2, bad=1), tmp_path / "out.jsonl"
    assert shell("batch", manifest, "--out", out, *SANDBOX).returncode == EXIT_SOME_FAILED
    again = shell("batch", manifest, "--out", out, *SANDBOX, "--resume")
    assert again.returncode == EXIT_SOME_FAILED, again.stdout
    assert "of which failed before" in again.stdout
    good = manifest_of(tmp_path, 2, name="good.csv")
    good_out = tmp_path / "good.jsonl"
    assert shell("batch", good, "--out", good_out, *SANDBOX).returncode == EXIT_OK
    assert shell("batch", good, "--out", good_out, *SANDBOX, "--resume").returncode == EXIT_OK


def test_off_a_terminal_the_summary_title_is_one_line_without_trailing_spaces(
    tmp_path: Path,
) -> None:
    folder = tmp_path / ("a-folder-with-a-long-name-" * 3)
    folder.mkdir()
    manifest, out = manifest_of(folder, 1), folder / "out.jsonl"
    done = shell("batch", manifest, "--out", out, *SANDBOX)
    assert done.returncode == EXIT_OK, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"helios-async batch: {manifest} -> {out}"
    assert all(line == line.rstrip() for line in lines)


def test_format_csv_writes_one_flat_row_per_check_and_resumes(tmp_path: Path) -> None:
    """Columns: line, row_hash, the manifest's, run id, status, the eleven scores, error,
    journal state."""
    manifest, out = manifest_of(tmp_path, 2, bad=1), tmp_path / "out.csv"
    done = shell("batch", manifest, "--out", out, "--format", "csv", *SANDBOX)
    assert done.returncode == EXIT_SOME_FAILED, done.stderr
    with out.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == [
        "line",
        "row_hash",
        *HEADER,
        "model_run_id",
        "status",
        *SCORE_NAMES,
        "error_type",
        "error_code",
        "error_message",
        "journal",
    ]
    by_label = {row["user_label"]: row for row in rows}
    assert len(rows) == 3
    ok = by_label["opt-0"]
    assert ok["status"] == "COMPLETE_OK"
    assert ok["model_run_id"]
    assert all(0.0 <= float(ok[name]) <= 1.0 for name in SCORE_NAMES)
    assert ok["error_type"] == ok["error_code"] == ""
    bad = by_label["bad-0"]
    assert (bad["status"], bad["model_run_id"], bad[SCORE_NAMES[0]]) == ("", "", "")
    assert bad["error_type"] == "InvalidInputError"
    resumed = shell("batch", manifest, "--out", out, "--format", "csv", *SANDBOX, "--resume")
    assert resumed.returncode == EXIT_SOME_FAILED
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4  # header + 3, none again


def test_resuming_an_output_in_the_other_format_is_refused(tmp_path: Path) -> None:
    manifest, out = manifest_of(tmp_path, 1), tmp_path / "out.jsonl"
    assert shell("batch", manifest, "--out", out, *SANDBOX).returncode == EXIT_OK
    done = shell("batch", manifest, "--out", out, "--format", "csv", *SANDBOX, "--resume")
    assert_refused_before_anything(done, out, "header differs")
    assert len(out.read_text().splitlines()) == 1
    json.loads(out.read_text())
    csv_out = tmp_path / "out.csv"
    shell("batch", manifest, "--out", csv_out, "--format", "csv", *SANDBOX)
    done = shell("batch", manifest, "--out", csv_out, "--format", "jsonl", *SANDBOX, "--resume")
    assert_refused_before_anything(done, csv_out, "--format csv")
