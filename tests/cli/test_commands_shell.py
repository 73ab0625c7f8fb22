"""``check``, ``account`` and their errors as a user's shell runs them (a process each):
every create field a manifest takes, tables by default and JSON with ``--json``, a JSON
error object on stdout for ``--json``, and a no-key message in command-line terms."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import ashell, shell, shell_env

from helios_async.testing import Reset, Sandbox, sample_recording

PERSON = [
    "--user-label",
    "shell-user",
    "--date-of-birth",
    "1990-08-24",
    "--birth-sex",
    "female",
    "--language",
    "en-GB",
]


async def test_check_sends_every_create_field_a_manifest_takes() -> None:
    """--accent, --tag (repeated and ';'-joined), the three times, --delete-data and
    --data-to-delete reach the create request's body, read by the manifest's own rules."""
    async with Sandbox() as sandbox:
        env = shell_env(
            THYMIA_BASE_URL=sandbox.base_url, THYMIA_API_KEY=sandbox.api_key, THYMIA_REGION=None
        )
        status, out, err = await ashell(
            "check",
            sample_recording(),
            *PERSON,
            "--accent",
            "scottish",
            "--tag",
            "site=leeds",
            "--tags",
            "arm=b;visit=3",
            "--sleep-time",
            "2026-03-25T23:00:00",
            "--wake-time",
            "2026-03-26T07:00:00",
            "--recording-time",
            "2026-03-26T09:30:00",
            "--delete-data",
            "--data-to-delete",
            "recording;transcript",
            "--json",
            env=env,
        )
        assert status == 0, err
        assert json.loads(out)["status"] == "COMPLETE_OK"
        [create] = [r for r in sandbox.requests if r.method == "POST"]
    body = json.loads(create.body)
    assert body["accent"] == "scottish"
    assert body["tags"] == [
        {"name": "site", "value": "leeds"},
        {"name": "arm", "value": "b"},
        {"name": "visit", "value": "3"},
    ]
    assert body["sleepTime"] == "2026-03-25T23:00:00"
    assert body["wakeTime"] == "2026-03-26T07:00:00"
    assert body["recordingTime"] == "2026-03-26T09:30:00"
    assert body["deleteData"] is True
    assert body["dataToDelete"] == ["recording", "transcript"]


def test_check_refuses_a_bad_create_field_with_the_manifests_rule() -> None:
    done = shell("check", sample_recording(), *PERSON, "--tag", "no-equals", "--sandbox")
    assert done.returncode == 2
    assert "tags: must be name=value;name=value" in done.stderr


def test_check_json_refused_locally_prints_a_json_error_and_one_line_on_stderr() -> None:
    """stdout still holds one JSON document: {"error": {type, message, code, field, ...}}."""
    done = shell(
        "check",
        sample_recording(),
        *PERSON[:-1],
        "english",
        "--sandbox",
        "--json",
    )
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "InvalidInputError"
    assert error["field"] == "language"
    assert "english" in error["message"]
    assert len(done.stderr.splitlines()) == 1
    assert "language" in done.stderr


def test_check_json_of_an_unreadable_recording_names_the_recording_error(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio")
    done = shell("check", notes, *PERSON, "--sandbox", "--json")
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert (error["type"], error["field"]) == ("RecordingError", "recording")


def test_no_key_names_the_variable_and_sandbox_not_a_python_argument() -> None:
    """The library says "pass api_key=..."; the command has no such option, so it says what
    a shell user can do: set THYMIA_API_KEY, or use --sandbox."""
    done = shell("account", env=shell_env(THYMIA_API_KEY=None))
    assert done.returncode == 2
    assert "THYMIA_API_KEY" in done.stderr
    assert "--sandbox" in done.stderr
    assert "api_key=" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    done = shell("get", "ddebd75b-99b3-42b4-ac65-5ce852c688e9", env=shell_env(THYMIA_API_KEY=None))
    assert done.returncode == 2
    assert "THYMIA_API_KEY" in done.stderr
    assert "--sandbox" not in done.stderr  # get has no such option


def test_account_prints_a_table_and_json_with_json() -> None:
    """Like get and check: a readable table by default, the API's JSON with --json."""
    table = shell("account", "--sandbox")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("Account ")
    assert lines[1].split() == ["features", "mental-wellness,", "mental-wellness-activity"]
    as_json = shell("account", "--sandbox", "--json")
    assert as_json.returncode == 0
    payload = json.loads(as_json.stdout)
    assert set(payload) == {"id", "features"}
    assert payload["features"] == ["mental-wellness", "mental-wellness-activity"]


async def test_a_create_whose_outcome_is_unknown_is_worded_for_the_command_line() -> None:
    """A create that may or may not have made a run (the connection reset after the API
    made it): the message speaks of ``--user-label``, not the library's ``.user_label``
    attribute, and names no label; exit 1, with the JSON error object under ``--json``."""
    async with Sandbox(record_bodies=False) as sandbox:
        sandbox.faults.add("create", Reset(after_handler=True), times=1)
        env = shell_env(
            THYMIA_BASE_URL=sandbox.base_url, THYMIA_API_KEY=sandbox.api_key, THYMIA_REGION=None
        )
        status, out, err = await ashell("check", sample_recording(), *PERSON, "--json", env=env)
    assert status == 1, err
    error = json.loads(out)["error"]
    assert error["type"] == "OutcomeUnknownError"
    for text in (error["message"], err):
        assert ".user_label" not in text
        assert "shell-user" not in text
    assert "--user-label" in err
