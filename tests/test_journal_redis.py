"""``RedisJournal`` on a real Redis: owned, atomic writes and the indexes (issue 11).

The server's URL comes from ``HELIOS_TEST_REDIS_URL`` (``.ci/run`` starts one); these tests
skip only when it is unset. Each test works in a namespace of its own and drops it after.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator

import pytest

from helios_async import InvalidInputError, JobState, JournalConflictError, JournalEntry
from helios_async._journal_redis import RedisJournal

REDIS_URL = os.environ.get("HELIOS_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(REDIS_URL is None, reason="HELIOS_TEST_REDIS_URL is not set")
URL = "https://storage.example/rec/1?X-Sandbox-Signature=s3cr3t"


@pytest.fixture
async def journal() -> AsyncIterator[RedisJournal]:
    assert REDIS_URL is not None
    async with RedisJournal.from_url(REDIS_URL, namespace=f"test-{secrets.token_hex(6)}") as j:
        try:
            yield j
        finally:
            await j.drop()


def creating(key: str = "row-1") -> JournalEntry:
    return JournalEntry(key=key, state=JobState.CREATING, creates=1)


def created(key: str = "row-1") -> JournalEntry:
    return JournalEntry(
        key=key, state=JobState.CREATED, model_run_id="r-1", upload_url=URL, creates=1
    )


async def test_an_entry_written_by_its_owner_reads_back(journal: RedisJournal) -> None:
    token, entry = await journal.claim("row-1")
    assert entry is None
    await journal.put(creating(), token=token)
    await journal.put(created(), token=token)
    assert await journal.get("row-1") == created()
    token2, entry = await journal.claim("row-1")
    assert entry == created() and token2 != token


async def test_a_zombie_owner_cannot_overwrite_the_newer_owner(journal: RedisJournal) -> None:
    """The first delivery is presumed dead and its job claimed again: its late writes are
    refused, atomically, and the newer owner's entry stands."""
    zombie, _ = await journal.claim("row-1")
    await journal.put(creating(), token=zombie)
    newer, _ = await journal.claim("row-1")
    await journal.put(JournalEntry(key="row-1", state=JobState.UNKNOWN), token=newer)
    with pytest.raises(JournalConflictError):
        await journal.put(created(), token=zombie)
    with pytest.raises(JournalConflictError):
        await journal.release("row-1", token=zombie)
    stored = await journal.get("row-1")
    assert stored is not None and stored.state == JobState.UNKNOWN


async def test_an_unclaimed_key_cannot_be_written(journal: RedisJournal) -> None:
    with pytest.raises(JournalConflictError):
        await journal.put(creating(), token="made-up")
    assert await journal.get("row-1") is None


async def test_concurrent_claims_leave_exactly_one_owner_able_to_write(
    journal: RedisJournal,
) -> None:
    claims = await asyncio.gather(*(journal.claim("row-1") for _ in range(20)))
    outcomes = await asyncio.gather(
        *(journal.put(creating(), token=token) for token, _ in claims), return_exceptions=True
    )
    assert sum(outcome is None for outcome in outcomes) == 1
    assert all(isinstance(o, JournalConflictError) for o in outcomes if o is not None)


@pytest.mark.parametrize(
    "moves",
    [
        [JobState.CREATED],  # a run id without creating first
        [JobState.CREATING, JobState.UPLOADED],
        [JobState.CREATING, JobState.UNKNOWN, JobState.CREATING],  # D13: never retried
        [JobState.CREATING, JobState.CREATED, JobState.UPLOADED, JobState.DONE, JobState.DONE],
    ],
)
async def test_the_script_refuses_moves_outside_the_state_machine(
    journal: RedisJournal, moves: list[JobState]
) -> None:
    token, _ = await journal.claim("row-1")
    *allowed, refused = moves
    for state in allowed:
        await journal.put(JournalEntry(key="row-1", state=state, model_run_id="r"), token=token)
    before = await journal.get("row-1")
    with pytest.raises(ValueError, match="cannot go"):
        await journal.put(JournalEntry(key="row-1", state=refused, model_run_id="r"), token=token)
    assert await journal.get("row-1") == before


async def test_counts_and_the_creating_and_unknown_indexes_follow_the_entries(
    journal: RedisJournal,
) -> None:
    tokens = {}
    for key in ("a", "b", "c", "d"):
        tokens[key], _ = await journal.claim(key)
        await journal.put(creating(key), token=tokens[key])
    await journal.put(created("a"), token=tokens["a"])
    await journal.put(JournalEntry(key="b", state=JobState.UNKNOWN), token=tokens["b"])
    await journal.release("d", token=tokens["d"])
    assert await journal.counts() == {
        JobState.CREATED: 1,
        JobState.UNKNOWN: 1,
        JobState.CREATING: 1,
    }
    assert await journal.keys_in(JobState.CREATING) == ["c"]
    assert [entry.key for entry in await journal.unknown()] == ["b"]
    await journal.forget("b")
    assert await journal.unknown() == []
    assert await journal.counts() == {JobState.CREATED: 1, JobState.CREATING: 1}
    with pytest.raises(InvalidInputError):
        await journal.keys_in(JobState.DONE)


async def test_release_only_removes_a_creating_entry(journal: RedisJournal) -> None:
    token, _ = await journal.claim("row-1")
    await journal.put(creating(), token=token)
    await journal.put(created(), token=token)
    with pytest.raises(ValueError, match="cannot go back"):
        await journal.release("row-1", token=token)
    assert await journal.get("row-1") == created()


async def test_keys_share_one_hash_tag_and_drop_deletes_them_all(
    journal: RedisJournal,
) -> None:
    token, _ = await journal.claim("row-1")
    await journal.put(creating(), token=token)
    assert journal.job_key("row-1") == f"helios:journal:{{{journal.namespace}}}:job:row-1"
    assert journal.counts_key.startswith(f"helios:journal:{{{journal.namespace}}}:")
    assert await journal.drop() >= 3  # the job, the counts, the creating index
    assert await journal.get("row-1") is None
    assert "s3cr3t" not in repr(journal)


@pytest.mark.parametrize("namespace", ["", "a{b", "x}", "n" * 201])
def test_a_namespace_with_braces_or_of_the_wrong_length_is_refused(namespace: str) -> None:
    assert REDIS_URL is not None
    with pytest.raises(InvalidInputError, match="namespace"):
        RedisJournal.from_url(REDIS_URL, namespace=namespace)
