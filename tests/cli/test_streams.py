"""The command's standard streams, as a user's shell gives them: a pipe closed early, an
ASCII-only stdout, a recording piped to stdin (``_streams``)."""

from __future__ import annotations

import subprocess
import sys

from cli_helpers import REPO, shell, shell_env

from helios_async.cli._streams import EXIT_BROKEN_PIPE
from helios_async.testing import sample_recording

PERSON = ["--date-of-birth", "1990-08-24", "--birth-sex", "female", "--language", "en-GB"]


def test_a_stdout_closed_by_its_reader_ends_the_command_quietly() -> None:
    """``helios-async demo | head -1`` where head has gone: no BrokenPipeError traceback (the
    reader is gone before the first write, so every write fails), status 1 as Python's own."""
    process = subprocess.Popen(
        [sys.executable, "-m", "helios_async", "demo"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=shell_env(),
    )
    assert process.stdout is not None
    process.stdout.close()  # the reader goes away at once
    _, err = process.communicate(timeout=120)
    assert process.returncode == EXIT_BROKEN_PIPE
    assert b"Traceback" not in err
    assert b"BrokenPipeError" not in err
    assert err == b""


def test_demo_piped_into_head_prints_one_line_and_no_traceback() -> None:
    """The shell pipeline itself: the first line arrives, nothing else is said on stderr."""
    done = subprocess.run(
        ["sh", "-c", f"'{sys.executable}' -m helios_async demo | head -1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=shell_env(),
        timeout=120,
        check=False,
    )
    assert done.stdout.startswith("Starting a local Helios sandbox")
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_non_ascii_label_on_an_ascii_stdout_is_escaped_not_a_traceback() -> None:
    """PYTHONIOENCODING=ascii: the run's table shows the label as escapes, exit 0."""
    done = shell(
        "check",
        sample_recording(),
        "--user-label",
        "zoë-ü",
        *PERSON,
        "--sandbox",
        env=shell_env(PYTHONIOENCODING="ascii"),
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "(zo\\xeb-\\xfc)" in done.stdout
    assert "COMPLETE_OK" in done.stdout


def test_a_non_ascii_error_message_on_an_ascii_stderr_is_escaped() -> None:
    """The one-line error on stderr survives an ASCII-only stderr too."""
    done = shell(
        "check",
        sample_recording(),
        "--user-label",
        "x",
        "--date-of-birth",
        "1990-08-24",
        "--birth-sex",
        "female",
        "--language",
        "français",
        "--sandbox",
        env=shell_env(PYTHONIOENCODING="ascii"),
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "fran\\xe7ais" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_check_dash_reads_the_recording_from_stdin() -> None:
    """``check - < speech.ogg``: the piped bytes are the recording."""
    done = shell(
        "check",
        "-",
        "--user-label",
        "stdin-user",
        *PERSON,
        "--sandbox",
        "--json",
        stdin=sample_recording().read_bytes(),
    )
    assert done.returncode == 0, done.stderr
    assert '"status": "COMPLETE_OK"' in done.stdout
    assert '"finishSecs": 18.' in done.stdout


def test_check_dash_with_nothing_piped_is_refused_as_an_empty_recording() -> None:
    done = shell("check", "-", "--user-label", "x", *PERSON, "--sandbox", stdin=b"")
    assert done.returncode == 2
    assert "empty" in done.stderr
    assert len(done.stderr.splitlines()) == 1
