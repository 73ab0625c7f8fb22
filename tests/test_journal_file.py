"""``FileJournal``: crash-safe JSON Lines, owned writes, one process at a time (issue 11)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from helios_async import (
    FileJournal,
    InvalidInputError,
    JobState,
    JournalConflictError,
    JournalEntry,
)

URL = "https://storage.example/rec/1?X-Sandbox-Signature=s3cr3t"


def creating(key: str = "row-1") -> JournalEntry:
    return JournalEntry(key=key, state=JobState.CREATING, creates=1)


def created(key: str = "row-1") -> JournalEntry:
    return JournalEntry(
        key=key, state=JobState.CREATED, model_run_id="r-1", upload_url=URL, creates=1
    )


async def test_entries_survive_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    with FileJournal(path) as journal:
        token, entry = await journal.claim("row-1")
        assert entry is None
        await journal.put(creating(), token=token)
        await journal.put(created(), token=token)
    with FileJournal(path) as journal:
        assert await journal.get("row-1") == created()
        assert journal.state_of("row-1") == JobState.CREATED
        assert len(journal) == 1
    lines = path.read_text().splitlines()
    assert [json.loads(line)["state"] for line in lines] == ["creating", "created"]


async def test_a_torn_last_line_is_ignored_and_cut_off_on_load(tmp_path: Path) -> None:
    """A writer killed mid-write leaves part of a line: the entry before it stands, and the
    next append starts on a clean line."""
    path = tmp_path / "j.journal"
    with FileJournal(path) as journal:
        token, _ = await journal.claim("row-1")
        await journal.put(creating(), token=token)
    whole = path.read_bytes()
    with path.open("ab") as stream:
        stream.write(created().dumps().encode()[:40])  # no newline: torn
    with FileJournal(path) as journal:
        assert journal.torn == 40
        assert journal.state_of("row-1") == JobState.CREATING
        assert path.read_bytes() == whole
        token, _ = await journal.claim("row-1")
        await journal.put(created(), token=token)
    with FileJournal(path) as journal:
        assert journal.state_of("row-1") == JobState.CREATED
        assert journal.unreadable == 0


async def test_lines_that_are_not_entries_are_counted_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    path.write_text('not json\n{"key": 3, "state": "done"}\n\n' + created().dumps() + "\n")
    with FileJournal(path) as journal:
        assert journal.unreadable == 2
        assert journal.state_of("row-1") == JobState.CREATED


async def test_a_write_with_a_superseded_token_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    with FileJournal(tmp_path / "j.journal") as journal:
        old, _ = await journal.claim("row-1")
        await journal.put(creating(), token=old)
        new, entry = await journal.claim("row-1")  # a redelivery takes the job over
        assert entry == creating()
        with pytest.raises(JournalConflictError):
            await journal.put(created(), token=old)
        with pytest.raises(JournalConflictError):
            await journal.release("row-1", token=old)
        assert journal.state_of("row-1") == JobState.CREATING
        await journal.put(JournalEntry(key="row-1", state=JobState.UNKNOWN), token=new)


async def test_a_write_the_state_machine_forbids_is_refused(tmp_path: Path) -> None:
    with FileJournal(tmp_path / "j.journal") as journal:
        token, _ = await journal.claim("row-1")
        with pytest.raises(ValueError, match="cannot go from None to created"):
            await journal.put(created(), token=token)
        assert journal.state_of("row-1") is None
        assert (tmp_path / "j.journal").read_bytes() == b""


async def test_release_removes_a_creating_entry_for_good(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    with FileJournal(path) as journal:
        token, _ = await journal.claim("row-1")
        await journal.put(creating(), token=token)
        await journal.release("row-1", token=token)
        assert await journal.get("row-1") is None
        await journal.put(creating(), token=token)  # the claim still holds: try again
        await journal.release("row-1", token=token)
    with FileJournal(path) as journal:
        assert len(journal) == 0


async def test_forget_removes_an_unknown_entry_and_voids_its_claim(tmp_path: Path) -> None:
    with FileJournal(tmp_path / "j.journal") as journal:
        token, _ = await journal.claim("row-1")
        await journal.put(creating(), token=token)
        await journal.put(JournalEntry(key="row-1", state=JobState.UNKNOWN), token=token)
        assert [entry.key for entry in journal.entries(JobState.UNKNOWN)] == ["row-1"]
        await journal.forget("row-1")
        assert list(journal.entries()) == []
        with pytest.raises(JournalConflictError):
            await journal.put(creating(), token=token)


async def test_entries_can_be_listed_by_state(tmp_path: Path) -> None:
    with FileJournal(tmp_path / "j.journal") as journal:
        for key in ("a", "b", "c"):
            token, _ = await journal.claim(key)
            await journal.put(creating(key), token=token)
            if key != "c":
                await journal.put(created(key), token=token)
        assert sorted(e.key for e in journal.entries(JobState.CREATED)) == ["a", "b"]
        assert [e.key for e in journal.entries(JobState.CREATING)] == ["c"]
        assert len(list(journal.entries())) == 3


def test_a_second_journal_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    with FileJournal(path), pytest.raises(InvalidInputError, match="in use"):
        FileJournal(path)
    FileJournal(path).close()  # free again once the first is closed


def test_the_file_is_readable_by_its_owner_only_and_its_repr_shows_no_secret(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.journal"
    journal = FileJournal(path)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert "entries" in repr(journal)
    finally:
        journal.close()
        journal.close()  # idempotent
    assert "closed" in repr(journal)


async def test_an_unreadable_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):  # noqa: PT011
        FileJournal(tmp_path / "missing" / "j.journal")


async def test_concurrent_writes_share_syncs_and_each_lands_whole(tmp_path: Path) -> None:
    """Writes that arrive together go out as one group commit; every one is on disk, in
    its key's order, once its put returns."""
    path = tmp_path / "j.journal"

    async def chain(journal: FileJournal, key: str) -> None:
        token, _ = await journal.claim(key)
        await journal.put(creating(key), token=token)
        await journal.put(created(key), token=token)

    with FileJournal(path) as journal:
        await asyncio.gather(*(chain(journal, f"row-{n}") for n in range(200)))
    lines = path.read_text().splitlines()
    assert len(lines) == 400
    with FileJournal(path) as journal:
        assert {entry.state for entry in journal.entries()} == {JobState.CREATED}
        assert len(journal) == 200


async def test_a_refused_write_does_not_hold_up_the_others_queued_with_it(
    tmp_path: Path,
) -> None:
    with FileJournal(tmp_path / "j.journal") as journal:
        stale, _ = await journal.claim("row-1")
        await journal.claim("row-1")  # taken over
        good, _ = await journal.claim("row-2")
        outcomes = await asyncio.gather(
            journal.put(creating("row-1"), token=stale),
            journal.put(creating("row-2"), token=good),
            return_exceptions=True,
        )
        assert isinstance(outcomes[0], JournalConflictError) and outcomes[1] is None
        assert journal.state_of("row-1") is None
        assert journal.state_of("row-2") == JobState.CREATING


async def test_a_write_whose_caller_is_cancelled_still_lands(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    async with FileJournal(path) as journal:
        token, _ = await journal.claim("row-1")
        task = asyncio.create_task(journal.put(creating(), token=token))
        await asyncio.sleep(0)  # queued
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    with FileJournal(path) as journal:
        assert journal.state_of("row-1") == JobState.CREATING


async def test_only_the_states_a_power_cut_must_not_lose_wait_for_an_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``creating`` and ``created`` (and removals) are synced before put returns; losing
    ``uploaded`` or ``done`` costs only a request on resume, so they ride on the next sync."""
    synced: list[int] = []
    real_fsync = os.fsync
    with FileJournal(tmp_path / "j.journal") as journal:
        monkeypatch.setattr("helios_async._journal_file.os.fsync", synced.append)
        token, _ = await journal.claim("row-1")
        counts = []
        for entry in (
            creating(),
            created(),
            JournalEntry(key="row-1", state=JobState.UPLOADED, model_run_id="r-1"),
            JournalEntry(key="row-1", state=JobState.DONE, model_run_id="r-1"),
        ):
            await journal.put(entry, token=token)
            counts.append(len(synced))
        monkeypatch.setattr("helios_async._journal_file.os.fsync", real_fsync)
    assert counts == [1, 2, 2, 2]
