"""The ``helios-async`` command, run in-process against its embedded sandbox."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from recordings import recording

from helios_async.cli import main
from helios_async.cli._args import EXIT_FAILED, EXIT_INVALID
from helios_async.testing import sample_recording

PERSON = ["--user-label", "cli-user", "--date-of-birth", "1990-08-24", "--birth-sex", "female"]


def recording_arg(name: str) -> str:
    """A test recording's path as a command-line argument (see tests/recordings.py)."""
    return str(recording(name))


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_demo_prints_the_eleven_scores_and_the_timeline() -> None:
    """The demo runs a check on the bundled recording against the embedded sandbox."""
    status, printed = run_cli("demo")
    assert status == 0
    assert "COMPLETE_OK" in printed
    for label in ("created", "running", "completed", "mental strain", "uniform low self esteem"):
        assert label in printed
    assert "simulated" in printed


@pytest.mark.parametrize("name", ["speech-en.wav", "speech-en.mp3"])
def test_check_with_json_prints_the_api_json_of_a_complete_run(name: str) -> None:
    """--json prints the run exactly as the API's camelCase JSON (§2.5)."""
    status, printed = run_cli(
        "check", recording_arg(name), *PERSON, "--language", "en-GB", "--sandbox", "--json"
    )
    assert status == 0
    payload = json.loads(printed)
    assert payload["status"] == "COMPLETE_OK"
    assert set(payload["results"]["sections"][0]) >= {"startSecs", "mentalStrain", "transcript"}


def test_check_of_a_short_file_exits_non_zero_naming_the_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """D9, §3.4: one line on stderr that names ERR_RECORDING_TOO_SHORT."""
    status, printed = run_cli(
        "check", recording_arg("short.wav"), *PERSON, "--language", "en-GB", "--sandbox"
    )
    err = capsys.readouterr().err
    assert status == EXIT_INVALID
    assert printed == ""
    assert "ERR_RECORDING_TOO_SHORT" in err
    assert len(err.strip().splitlines()) == 1


def test_check_of_silence_exits_non_zero_with_transcription_failed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """§3.4: silence ends COMPLETE_ERROR with ERR_TRANSCRIPTION_FAILED."""
    status, _ = run_cli(
        "check", recording_arg("silence-15s.wav"), *PERSON, "--language", "en-GB", "--sandbox"
    )
    assert status == EXIT_FAILED
    assert "ERR_TRANSCRIPTION_FAILED" in capsys.readouterr().err


def test_check_refuses_a_bad_language_before_sending(capsys: pytest.CaptureFixture[str]) -> None:
    """D5: 'english' is not an ll-CC code; refused locally with the field named."""
    status, _ = run_cli(
        "check", recording_arg("speech-en.wav"), *PERSON, "--language", "english", "--sandbox"
    )
    assert status == EXIT_INVALID
    assert "language" in capsys.readouterr().err


def test_check_without_a_key_on_the_real_api_says_how_to_set_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """D15: with no THYMIA_API_KEY the command fails before any request, saying what to set."""
    monkeypatch.delenv("THYMIA_API_KEY", raising=False)
    status, _ = run_cli("check", recording_arg("speech-en.wav"), *PERSON, "--language", "en-GB")
    assert status == EXIT_INVALID
    assert "THYMIA_API_KEY" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command() -> None:
    """``python -m helios_async`` is the same program as ``helios-async``."""
    result = subprocess.run(
        [sys.executable, "-m", "helios_async", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("helios-async ")


def test_batch_without_rich_says_to_install_the_cli_extra_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rich`` is the ``cli`` extra: without it, ``batch`` prints one line naming the extra
    (the import failure is simulated: ``None`` in ``sys.modules`` makes ``import rich`` fail)."""
    for name in [n for n in sys.modules if n.partition(".")[0] == "rich"] + ["rich"]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in ("helios_async.cli._batch", "helios_async.cli._display"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    status, printed = run_cli("batch", str(tmp_path / "m.csv"), "--out", str(tmp_path / "o"))
    assert status == EXIT_FAILED
    assert printed == ""
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "helios-async: the batch command needs rich: pip install 'helios-async[cli]'"
    ]
    assert not (tmp_path / "o").exists()


def test_check_shows_its_run_id_and_each_status_on_stderr_and_keeps_stdout_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    recording = str(sample_recording())
    status, printed = run_cli(
        "check", recording, *PERSON, "--language", "en-GB", "--sandbox", "--json"
    )
    assert status == 0
    run = json.loads(printed)  # nothing else on stdout
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"created model run {run['id']}"
    assert err[-1] == f"model run {run['id']}: COMPLETE_OK"
    assert len(err) == len(set(err))  # a status is shown once, when it changes
