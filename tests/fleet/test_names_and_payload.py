"""Fleet and batch names, and a job's JSON payload (what crosses Redis)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from helios_async import InvalidInputError, Tag, User, WellnessJob
from helios_async.fleet._names import FleetNames, check_name
from helios_async.fleet._payload import RowInfo, decode_job, encode_job
from helios_async.testing import sample_recording

USER = User(user_label="fleet-user-1", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")


@pytest.mark.parametrize("name", ["nightly", "2026-12-01", "a.b_c-d", "x" * 64])
def test_names_of_letters_digits_dots_dashes_and_underscores_are_accepted(name: str) -> None:
    assert check_name("batch", name) == name


@pytest.mark.parametrize("name", ["", "-lead", "has space", "a:b", "{tag}", "x" * 65, 7])
def test_other_names_are_refused_before_anything_is_sent(name: object) -> None:
    with pytest.raises(InvalidInputError, match="batch"):
        check_name("batch", name)


def test_the_engine_key_of_a_job_hides_the_batch_and_the_key() -> None:
    """Docket logs task keys: a job's key (perhaps a label) must not appear in it."""
    names = FleetNames("f").batch("nightly")
    task_key = names.task_key("user-17@example")
    assert "user-17" not in task_key and "nightly" not in task_key
    assert task_key == names.task_key("user-17@example")
    assert task_key != FleetNames("f").batch("other").task_key("user-17@example")


def test_a_job_survives_its_payload_with_every_field() -> None:
    job = WellnessJob(
        recording=sample_recording(),
        user=USER,
        language="en-GB",
        key="row-7",
        accent="en-GB-scottish",
        sleep_time=dt.datetime(2026, 3, 25, 23, 0),
        wake_time=dt.datetime(2026, 3, 26, 7, 0),
        recording_time=dt.datetime(2026, 3, 26, 9, 30),
        tags=[Tag(name="site", value="north"), ("shift", "late")],
        delete_data=True,
        data_to_delete=["recording"],
        deadline=120.0,
        check_duration=False,
    )
    row = RowInfo(line=7, row_hash="3f1c0a9be2d47e61", cells={"recording": "a.ogg"})
    back = decode_job(encode_job("nightly", job, row=row))
    assert back.batch == "nightly" and back.key == "row-7" and back.row == row
    assert back.job.recording == sample_recording()
    assert back.job.create_fields()["tags"] == [("site", "north"), ("shift", "late")]
    assert {k: v for k, v in back.job.create_fields().items() if k != "tags"} == {
        k: v for k, v in job.create_fields().items() if k not in ("tags", "data_to_delete")
    } | {"data_to_delete": ["recording"]}
    assert (back.job.user, back.job.deadline, back.job.check_duration) == (USER, 120.0, False)


def test_a_relative_recording_path_becomes_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job = WellnessJob(recording="a.ogg", user=USER, language="en-GB", key="k")
    payload = json.loads(encode_job("b", job))
    assert payload["job"]["recording"] == str(tmp_path / "a.ogg")


@pytest.mark.parametrize("recording", [b"OggS", io.BytesIO(b"OggS")])
def test_a_recording_that_is_not_a_path_is_refused(recording: object) -> None:
    job = WellnessJob(recording=recording, user=USER, language="en-GB", key="k")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="path that every worker can open"):
        encode_job("b", job)


@pytest.mark.parametrize("key", [None, 7, "", "k" * 201])
def test_a_job_needs_a_short_str_key(key: object) -> None:
    job = WellnessJob(recording=sample_recording(), user=USER, language="en-GB", key=key)
    with pytest.raises(InvalidInputError, match="key"):
        encode_job("b", job)


def test_a_bad_field_is_refused_at_encoding_not_on_a_worker() -> None:
    job = WellnessJob(recording=sample_recording(), user=USER, language="english", key="k")
    with pytest.raises(InvalidInputError, match="language"):
        encode_job("b", job)


@pytest.mark.parametrize("text", ["not json", "{}", '{"v": 2}', '{"v": 1, "job": {}}'])
def test_a_message_that_is_not_a_payload_is_a_typed_error(text: str) -> None:
    with pytest.raises(InvalidInputError, match="payload"):
        decode_job(text)


def test_no_repr_of_a_fleet_value_shows_a_label_or_a_key() -> None:
    from helios_async.fleet import FleetOutcome
    from helios_async.fleet._submit import Submission

    job = WellnessJob(recording=sample_recording(), user=USER, language="en-GB", key="secret-key")
    row = RowInfo(line=2, row_hash="h", cells={"user_label": USER.user_label})
    payload = encode_job("b", job, row=row)
    assert USER.user_label not in repr(decode_job(payload))
    shown = [
        repr(row),
        repr(Submission(key="secret-key", payload=payload)),
        repr(FleetOutcome(record={"key": "secret-key", "row": row.cells, "error": None})),
    ]
    for text in shown:
        assert USER.user_label not in text and "secret-key" not in text, text
