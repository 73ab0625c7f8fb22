"""The batch manifest: its header, its rows' line numbers and hashes, rows to jobs (issue 4)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cli_helpers import HEADER, write_csv

from helios_async import InvalidInputError, User
from helios_async.cli._manifest import Manifest, row_to_job


def test_the_header_must_name_every_required_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [], header=["recording", "user_label", "language"])
    with pytest.raises(InvalidInputError, match="date_of_birth, birth_sex"):
        Manifest(path)
    with pytest.raises(InvalidInputError, match="repeats language"):
        Manifest(write_csv(tmp_path / "twice.csv", [], header=[*HEADER, "Language"]))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InvalidInputError, match="empty"):
        Manifest(tmp_path / "empty.csv")
    with pytest.raises(InvalidInputError, match="cannot read"):
        Manifest(tmp_path / "missing.csv")


def test_rows_know_their_line_even_after_blank_and_multi_line_rows(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "\ufeffRecording, User_Label ,date_of_birth,birth_sex,language,notes\n"
        "a.wav,u1,1990-01-01,MALE,en-GB,x\n"
        "\n"
        'b.wav,u2,1990-01-01,MALE,en-GB,"two\nlines"\n'
        "c.wav,u3,1990-01-01,MALE,en-GB,y\n",
        encoding="utf-8",
    )
    manifest = Manifest(path)
    assert manifest.unknown_columns == ("notes",)
    rows = list(manifest.rows())
    assert [row.line for row in rows] == [2, 4, 6]
    assert rows[0].cells["user_label"] == "u1"
    assert rows[1].cells["notes"] == "two\nlines"


def test_a_row_to_a_job_with_every_optional_field(tmp_path: Path) -> None:
    header = [*HEADER, "accent", "sleep_time", "wake_time", "recording_time", "tags"]
    header += ["delete_data", "data_to_delete"]
    row = ["sub/a.wav", "u1", "1990-08-24", "female", "en-GB", "scottish", "2026-03-25T23:10:00"]
    row += ["2026-03-26T06:45:00", "", "site=depot-7; shift=early", "yes", "recordings;results"]
    manifest = Manifest(write_csv(tmp_path / "m.csv", [row], header=header))
    job = row_to_job(next(manifest.rows()), manifest.folder)
    assert job.recording == tmp_path / "sub" / "a.wav"
    assert job.user == User(user_label="u1", date_of_birth=dt.date(1990, 8, 24), birth_sex="FEMALE")
    assert job.accent == "scottish"
    assert job.sleep_time == dt.datetime(2026, 3, 25, 23, 10)
    assert job.recording_time is None
    assert job.tags == {"site": "depot-7", "shift": "early"}
    assert job.delete_data is True
    assert job.data_to_delete == ("recordings", "results")
    assert job.key.line == 2


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("date_of_birth", "24/08/1990", "date_of_birth: must be a YYYY-MM-DD"),
        ("birth_sex", "other", "birth_sex"),
        ("language", "english", "language"),
        ("user_label", "x" * 51, "user_label"),
        ("recording", "", "recording: is empty"),
        ("tags", "site", "tags: must be name=value"),
        ("tags", "a=1;a=2", "unique"),
        ("delete_data", "maybe", "delete_data"),
        ("sleep_time", "yesterday", "sleep_time"),
        ("sleep_time", "2026-03-25T23:10:00+01:00", "sleep_time"),  # aware: refused (D8)
        ("sleep_time", "2026-03-25", "sleep_time: must be a naive ISO date and time"),
        ("data_to_delete", "recording", "data_to_delete: goes with delete_data"),
        ("date_of_birth", "1990-02-30", "date_of_birth: must be a YYYY-MM-DD date such as"),
    ],
)
def test_a_bad_cell_is_refused_naming_its_column(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    header = [*HEADER, "tags", "delete_data", "sleep_time", "data_to_delete"]
    cells = dict.fromkeys(header, "")
    cells.update(recording="a.wav", user_label="u1", date_of_birth="1990-08-24")
    cells.update(birth_sex="MALE", language="en-GB")
    cells[column] = value
    manifest = Manifest(write_csv(tmp_path / "m.csv", [[cells[h] for h in header]], header))
    with pytest.raises(InvalidInputError, match=message) as caught:
        row_to_job(next(manifest.rows()), manifest.folder)
    if column == "date_of_birth":  # personal data: not echoed
        assert value not in str(caught.value)


def test_the_row_hash_changes_when_the_row_is_edited(tmp_path: Path) -> None:
    first = [["a.wav", "u1", "1990-08-24", "MALE", "en-GB"]]
    before = next(Manifest(write_csv(tmp_path / "m.csv", first)).rows())
    first[0][2] = "1990-08-25"
    after = next(Manifest(write_csv(tmp_path / "m.csv", first)).rows())
    assert before.line == after.line and before.digest != after.digest
