"""The arguments the commands share: strict dates, seconds, and one-line usage errors."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from helios_async.cli import main
from helios_async.cli._args import EXIT_INTERRUPTED, EXIT_INVALID, parse_date

CHECK = ["check", "r.wav", "--user-label", "u", "--birth-sex", "male", "--language", "en-GB"]
BATCH = ["batch", "m.csv", "--out", "o.jsonl"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*CHECK, "--date-of-birth", "19900824"], "not a YYYY-MM-DD date (such as 1990-08-24)"),
        ([*CHECK, "--date-of-birth", "1990-02-30"], "not a YYYY-MM-DD date (such as 1990-08-24)"),
        ([*CHECK, "--date-of-birth", "1990-08-24", "--deadline", "0"], "above 0: '0'"),
        ([*CHECK, "--date-of-birth", "1990-08-24", "--deadline", "inf"], "above 0: 'inf'"),
        ([*BATCH, "--deadline", "soon"], "above 0: 'soon'"),
        ([*BATCH, "--sandbox-delay", "-1"], "seconds, 0 or more: '-1'"),
        ([*BATCH, "--sandbox-delay", "nan"], "seconds, 0 or more: 'nan'"),
        (["batch", "m.csv"], "the following arguments are required: --out"),
    ],
)
def test_a_bad_argument_is_one_line_on_stderr_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv, out=io.StringIO())
    assert exited.value.code == EXIT_INVALID
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert message in err[0]
    assert err[0].endswith("(see --help)")


def test_a_bad_date_of_birth_is_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    """A date of birth is personal data: refused, it is not repeated on stderr."""
    with pytest.raises(SystemExit):
        main([*CHECK, "--date-of-birth", "1990-02-30"], out=io.StringIO())
    assert "1990-02-30" not in capsys.readouterr().err


ERROR_KEYS = {"type", "message", "code", "http_status", "field"}


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["check", "--sandbox", "F", *CHECK[2:], "--date-of-birth", "bad"], "--date-of-birth"),
        (["--frobnicate"], None),
        ([*CHECK, "--date-of-birth", "1990-08-24", "--frobnicate"], None),
        ([*CHECK, "--date-of-birth", "1990-08-24", "--deadline", "0"], "--deadline"),
    ],
)
def test_a_usage_error_with_json_is_one_error_object_on_stdout(
    argv: list[str], field: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json`` answers every failure with one ``{"error": {...}}`` object, usage errors
    included; its keys are the documented five, null where they do not apply; exit 2."""
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--json"], out=out)
    assert exited.value.code == EXIT_INVALID
    error = json.loads(out.getvalue())["error"]
    assert set(error) == ERROR_KEYS
    assert error["type"] == "UsageError"
    assert error["field"] == field
    assert error["code"] is None and error["http_status"] is None
    assert error["message"] in capsys.readouterr().err


def test_a_usage_error_without_json_leaves_stdout_empty() -> None:
    out = io.StringIO()
    with pytest.raises(SystemExit):
        main(["--frobnicate"], out=out)
    assert out.getvalue() == ""


def test_an_error_refused_locally_has_the_five_keys_too(tmp_path: Path) -> None:
    """A library error (a missing recording) under ``--json``: the same five keys."""
    out = io.StringIO()
    argv = ["check", str(tmp_path / "none.wav"), *CHECK[2:], "--date-of-birth", "1990-08-24"]
    assert main([*argv, "--sandbox", "--json"], out=out) == EXIT_INVALID
    error = json.loads(out.getvalue())["error"]
    assert set(error) == ERROR_KEYS
    assert (error["type"], error["field"]) == ("RecordingError", "recording")


def test_dates_are_read_strictly_as_yyyy_mm_dd() -> None:
    assert parse_date("1990-08-24") == dt.date(1990, 8, 24)
    for text in ("19900824", "1990-8-24", "1990-02-30", " 1990-08-24"):
        with pytest.raises(ValueError, match=r"YYYY-MM-DD|day is out of range"):
            parse_date(text)


PERSON = ["--user-label", "u", "--date-of-birth", "1990-08-24", "--birth-sex", "male"]
CHECK_OK = ["check", "r.wav", *PERSON, "--language", "en-GB"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*CHECK_OK, "--sandbox", "--base-url", "http://x"], "--base-url: not allowed with"),
        ([*CHECK_OK, "--sandbox", "--region", "us"], "--region: not allowed with --sandbox"),
        (["account", "--sandbox", "--region", "ca"], "--region: not allowed with --sandbox"),
        ([*BATCH, "--sandbox", "--base-url", "http://x"], "--base-url: not allowed with"),
        (
            ["get", "ddebd75b-99b3-42b4-ac65-5ce852c688e9", "--timeout", "5"],
            "--timeout: goes with --wait",
        ),
        ([*CHECK_OK, "--data-to-delete", "recording"], "--data-to-delete: goes with --delete-data"),
        ([*CHECK_OK, "--sleep-time", "2026-03-26"], "--sleep-time: not a date and time"),
        ([*CHECK_OK, "--wake-time", "07:00"], "--wake-time: not a date and time"),
    ],
)
def test_options_that_would_be_ignored_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing is silently ignored: an option that has no effect in this combination, or a
    time without its time of day, is a usage error (exit 2) before anything runs."""
    with pytest.raises(SystemExit) as exited:
        main(argv, out=io.StringIO())
    assert exited.value.code == EXIT_INVALID
    assert message in capsys.readouterr().err


def test_sandbox_help_says_the_environment_is_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"], out=io.StringIO())
    assert "THYMIA_BASE_URL and THYMIA_REGION are then ignored" in " ".join(
        capsys.readouterr().out.split()
    )


def test_a_ctrl_c_while_the_program_loads_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C in the first moments, while the command's modules import: one line, 130.
    (The import is made to raise ``KeyboardInterrupt``, as a Ctrl-C there would.)"""
    import builtins

    real_import = builtins.__import__

    def interrupted(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "helios_async.cli._commands":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert main(["demo"], out=io.StringIO()) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "helios-async: interrupted\n"
    out = io.StringIO()
    assert main(["demo", "--json"], out=out) == EXIT_INTERRUPTED
    assert json.loads(out.getvalue()) == {
        "interrupted": {"signal": "SIGINT", "model_run_id": None, "resume": None}
    }
