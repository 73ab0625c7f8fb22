"""The run journal's state machine and entry model (``_journal``, issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helios_async import InvalidInputError, JobState, JournalConflictError, JournalEntry
from helios_async._journal import check_transition

URL = "https://storage.example/rec/1?X-Sandbox-Signature=s3cr3t-signature"
RUN = {"id": "r-1", "status": "COMPLETE_OK", "userLabel": "operator-secret-label"}


def test_every_allowed_move_of_the_diagram_passes() -> None:
    moves = [
        (None, JobState.CREATING),
        (JobState.CREATING, JobState.CREATED),
        (JobState.CREATING, JobState.UNKNOWN),
        (JobState.CREATING, JobState.DONE),
        (JobState.CREATING, None),
        (JobState.CREATED, JobState.UPLOADED),
        (JobState.CREATED, JobState.DONE),
        (JobState.CREATED, JobState.CREATING),
        (JobState.UPLOADED, JobState.DONE),
    ]
    for old, new in moves:
        check_transition(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (None, JobState.CREATED),  # a run id is never journaled without creating first
        (None, JobState.DONE),
        (JobState.CREATING, JobState.UPLOADED),  # no upload without a journaled run id
        (JobState.CREATED, None),  # a run that exists is never forgotten by the machine
        (JobState.UPLOADED, JobState.CREATING),  # an uploaded run is never replaced
        (JobState.UPLOADED, JobState.CREATED),
        (JobState.DONE, JobState.CREATING),  # final states stay final
        (JobState.UNKNOWN, JobState.CREATING),  # D13: an unknown create is never retried
        (JobState.UNKNOWN, None),
    ],
)
def test_moves_outside_the_diagram_are_refused(old: JobState | None, new: JobState | None) -> None:
    with pytest.raises(ValueError, match="cannot go from"):
        check_transition(old, new, key="row-1")


def test_an_entry_round_trips_through_its_json_line() -> None:
    entry = JournalEntry(
        key="row-1",
        state=JobState.DONE,
        model_run_id="r-1",
        url_expires_at=1700000000,
        run=RUN,
        creates=2,
        updated_at=1700000001.5,
    )
    line = entry.dumps()
    assert "\n" not in line
    back = JournalEntry.from_json(json.loads(line))
    assert back == entry
    assert back.url_expires_at == 1700000000.0
    assert back.is_final and back.ok


def test_the_upload_url_results_and_errors_never_show_in_a_repr() -> None:
    entry = JournalEntry(
        key="row-1",
        state=JobState.CREATED,
        model_run_id="r-1",
        upload_url=URL,
        run=RUN,
        error={"type": "X", "message": "user label operator-secret-label"},
    )
    shown = repr(entry)
    assert "r-1" in shown and "created" in shown
    assert "s3cr3t" not in shown and "storage.example" not in shown
    assert "operator-secret-label" not in shown


@pytest.mark.parametrize("key", ["", None, 7, "k" * 513])
def test_a_key_must_be_a_non_empty_string_of_at_most_512_characters(key: object) -> None:
    with pytest.raises(InvalidInputError, match="key"):
        JournalEntry(key=key, state=JobState.CREATING)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "payload",
    [
        {"state": "done"},
        {"key": "k"},
        {"key": "k", "state": "lost"},
        {"key": "k", "state": "done", "creates": "x"},
        {"key": "k", "state": "done", "run": [1]},
    ],
)
def test_a_payload_that_is_not_an_entry_is_a_value_error(payload: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (several messages)
        JournalEntry.from_json(payload)


def test_only_a_done_entry_with_a_run_and_no_error_is_ok() -> None:
    assert not JournalEntry(key="k", state=JobState.UPLOADED, model_run_id="r").ok
    assert not JournalEntry(key="k", state=JobState.DONE, error={"type": "NotFoundError"}).ok
    assert not JournalEntry(key="k", state=JobState.UNKNOWN).ok
    assert JournalEntry(key="k", state=JobState.UNKNOWN).is_final


def test_a_conflict_names_the_key_and_is_a_helios_error() -> None:
    error = JournalConflictError("row-9")
    assert error.key == "row-9" and "row-9" in str(error)


def test_importing_the_package_does_not_import_redis() -> None:
    """The Redis store is for fleets: ``import helios_async`` must work without ``redis``."""
    code = "import sys, helios_async; sys.exit('redis' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
