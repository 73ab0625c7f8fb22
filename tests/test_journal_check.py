"""``run_journaled_check`` against the sandbox: each step on record, and every way a job is
picked up again (resume, redelivery, a zombie) bills no run twice (issue 11, D13).

Each test runs on the local file journal and, when ``HELIOS_TEST_REDIS_URL`` is set, on
Redis. "A dead owner" is simulated by claiming the key and writing what a process would
have written before it died.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helios_async import (
    FileJournal,
    HeliosClient,
    InvalidInputError,
    JobState,
    Journal,
    JournalConflictError,
    JournalEntry,
    PollPolicy,
    RateLimitError,
    RetryPolicy,
    Timeouts,
    User,
    WellnessJob,
    run_journaled_check,
)
from helios_async.testing import (
    ErrorStatus,
    NeverFinishes,
    RateLimited,
    Reset,
    Sandbox,
    Slow,
    UrlExpired,
    sample_recording,
)

REDIS_URL = os.environ.get("HELIOS_TEST_REDIS_URL")
LABEL = "journal-user-1"
KEY = "row-1"
FAST_POLL = PollPolicy(first_interval=0.02, interval=0.05, timeout=10)
NOW = 1_800_000_000.0  # the checks' Unix clock in tests that move time


class SandboxClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture(params=["file", "redis"])
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Journal]:
    if request.param == "file":
        with FileJournal(tmp_path / "checks.journal") as file_journal:
            yield file_journal
        return
    if REDIS_URL is None:
        pytest.skip("HELIOS_TEST_REDIS_URL is not set")
    from helios_async._journal_redis import RedisJournal

    namespace = f"test-{secrets.token_hex(6)}"
    async with RedisJournal.from_url(REDIS_URL, namespace=namespace) as redis_journal:
        try:
            yield redis_journal
        finally:
            await redis_journal.drop()


@pytest.fixture
def sandbox_clock() -> SandboxClock:
    return SandboxClock()


@pytest.fixture
async def sandbox(sandbox_clock: SandboxClock) -> AsyncIterator[Sandbox]:
    async with Sandbox(clock=sandbox_clock, record_bodies=False) as running:
        yield running


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[HeliosClient]:
    async with HeliosClient(
        sandbox.api_key,
        base_url=sandbox.base_url,
        poll=FAST_POLL,
        retry=RetryPolicy(backoff_initial=0.01, backoff_max=0.02),
        timeouts=Timeouts(upload=30),
    ) as helios:
        yield helios


def job(**extra: Any) -> WellnessJob:
    user = User(user_label=LABEL, date_of_birth=dt.date(1990, 8, 24), birth_sex="FEMALE")
    fields: dict[str, Any] = {"recording": sample_recording(), "language": "en-GB", **extra}
    return WellnessJob(user=user, **fields)


def uploads(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests if r.host == "storage" and r.method == "PUT")


async def dead_owner(journal: Journal, *entries: JournalEntry) -> None:
    """What a process wrote before it was killed."""
    token, _ = await journal.claim(KEY)
    for entry in entries:
        await journal.put(entry, token=token)


async def uploaded_by_dead_owner(client: HeliosClient, journal: Journal) -> str:
    """A run the dead owner created and uploaded, journaled only as ``created``."""
    run_id = await created_by_dead_owner(client, journal)
    stored = await journal.get(KEY)
    assert stored is not None and stored.upload_url is not None
    await client.upload_recording(stored.upload_url, sample_recording())
    return run_id


async def created_by_dead_owner(
    client: HeliosClient, journal: Journal, *, expires_at: float = NOW + 3600
) -> str:
    created = await client.create_model_run(
        user=job().user, language="en-GB"
    )  # the dead owner's create
    await dead_owner(
        journal,
        JournalEntry(key=KEY, state=JobState.CREATING, creates=1),
        JournalEntry(
            key=KEY,
            state=JobState.CREATED,
            model_run_id=created.id,
            upload_url=created.recording_upload_url,
            url_expires_at=expires_at,
            creates=1,
        ),
    )
    return created.id


# -- a fresh job ----------------------------------------------------------------------------


async def test_a_fresh_job_journals_each_step_and_the_run_id_before_the_upload(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    seen: list[tuple[JobState, int]] = []

    def on_entry(entry: JournalEntry) -> None:
        seen.append((entry.state, uploads(sandbox)))

    entry = await run_journaled_check(client, journal, KEY, job(), on_entry=on_entry)
    assert [state for state, _ in seen] == ["creating", "created", "uploaded", "done"]
    assert seen[1] == (JobState.CREATED, 0)  # journaled before any byte was uploaded
    assert entry.ok and entry.creates == 1
    run = entry.model_run()
    assert run is not None and run.section is not None and run.id == entry.model_run_id
    assert entry.upload_url is None  # not kept once it is no longer needed
    assert await journal.get(KEY) == entry
    assert sandbox.runs_created(LABEL) == 1 and sandbox.runs_started(LABEL) == 1


async def test_a_done_job_is_returned_as_stored_and_nothing_is_sent(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    first = await run_journaled_check(client, journal, KEY, job())
    sandbox.requests.clear()
    again = await run_journaled_check(client, journal, KEY, job(recording=b"gone"))
    assert again == first
    assert sandbox.requests == []


async def test_a_failed_run_is_done_with_its_code_and_its_json(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    sandbox.set_outcome(LABEL, "ERR_INTERNAL")
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.state == JobState.DONE and not entry.ok
    assert entry.error is not None
    assert entry.error["type"] == "ModelRunFailedError"
    assert entry.error["code"] == "ERR_INTERNAL"
    run = entry.model_run()
    assert run is not None and run.error_code == "ERR_INTERNAL"


async def test_bad_input_is_refused_before_anything_is_written_or_sent(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    with pytest.raises(InvalidInputError):
        await run_journaled_check(client, journal, KEY, job(recording=b"not audio at all"))
    with pytest.raises(InvalidInputError, match="language"):
        await run_journaled_check(client, journal, KEY, job(language="english"))
    assert await journal.get(KEY) is None
    assert sandbox.requests == []


# -- creates that fail ------------------------------------------------------------------------


async def test_a_create_whose_outcome_is_unknown_is_never_retried(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    sandbox.faults.add("create", Reset(after_handler=True), times=1)  # a run made, no answer
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.state == JobState.UNKNOWN
    assert entry.error is not None and entry.error["type"] == "OutcomeUnknownError"
    again = await run_journaled_check(client, journal, KEY, job())
    assert again == entry
    assert sandbox.runs_created(LABEL) == 1 and uploads(sandbox) == 0


async def test_a_create_that_provably_made_nothing_leaves_no_entry_and_can_run_again(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    sandbox.faults.add("create", RateLimited(retry_after=1), times=1)
    once = client.with_options(retry=RetryPolicy.disabled())
    with pytest.raises(RateLimitError):
        await run_journaled_check(once, journal, KEY, job())
    assert await journal.get(KEY) is None
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.ok and sandbox.runs_created(LABEL) == 1


async def test_a_refused_create_is_done_with_its_error(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    sandbox.faults.add("create", ErrorStatus(422), times=1)
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.state == JobState.DONE and entry.model_run_id is None
    assert entry.error is not None
    assert (entry.error["type"], entry.error["http_status"]) == ("BadRequestError", 422)


async def test_a_deadline_during_the_create_makes_it_unknown(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    sandbox.faults.add("create", Slow(5), times=1)
    entry = await run_journaled_check(client, journal, KEY, job(deadline=0.2))
    assert entry.state == JobState.UNKNOWN
    assert entry.error is not None and entry.error["type"] == "CreateDeadlineExceededError"


# -- picking a job up again ---------------------------------------------------------------------


async def test_a_create_in_flight_when_its_owner_died_becomes_unknown_and_sends_nothing(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    await dead_owner(journal, JournalEntry(key=KEY, state=JobState.CREATING, creates=1))
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.state == JobState.UNKNOWN
    assert entry.error is not None and "in flight" in entry.error["message"]
    assert sandbox.requests == []
    assert await journal.get(KEY) == entry


async def test_a_created_run_still_waiting_for_its_recording_is_uploaded_not_recreated(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    run_id = await created_by_dead_owner(client, journal)
    entry = await run_journaled_check(client, journal, KEY, job(), clock=lambda: NOW)
    assert entry.ok and entry.model_run_id == run_id
    assert sandbox.runs_created(LABEL) == 1 and uploads(sandbox) == 1


async def test_a_created_run_whose_recording_arrived_is_waited_for_not_uploaded_again(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    """The dead owner's upload was stored but its answer lost: the run is not CREATED."""
    run_id = await uploaded_by_dead_owner(client, journal)
    entry = await run_journaled_check(client, journal, KEY, job(), clock=lambda: NOW)
    assert entry.ok and entry.model_run_id == run_id
    assert sandbox.runs_created(LABEL) == 1 and uploads(sandbox) == 1


async def test_an_uploaded_run_is_only_waited_for(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    run_id = await uploaded_by_dead_owner(client, journal)
    token, _ = await journal.claim(KEY)
    await journal.put(
        JournalEntry(key=KEY, state=JobState.UPLOADED, model_run_id=run_id), token=token
    )
    sandbox.requests.clear()
    entry = await run_journaled_check(client, journal, KEY, job(recording=b"gone"))
    assert entry.ok
    assert {(r.host, r.method) for r in sandbox.requests} == {("api", "GET")}


async def test_a_run_whose_url_expired_unused_is_replaced_once_and_billed_once(
    journal: Journal, sandbox: Sandbox, sandbox_clock: SandboxClock, client: HeliosClient
) -> None:
    """Long after the dead owner's URL expired (its upload timeout included), the run is
    still CREATED: it can never be processed, so one new run is created and uploaded."""
    old_id = await created_by_dead_owner(client, journal, expires_at=NOW - 3600)
    sandbox_clock.advance(7200)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    entry = await run_journaled_check(client, journal, KEY, job(), clock=lambda: NOW, sleep=sleep)
    assert entry.ok and entry.model_run_id != old_id and entry.creates == 2
    assert slept == []
    assert sandbox.runs_created(LABEL) == 2 and sandbox.runs_started(LABEL) == 1


async def test_an_expired_url_of_an_earlier_owner_waits_out_its_uploads_before_replacing(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    """Storage refuses the URL, but an upload the earlier owner started before it expired
    might still be under way: wait until the URL's expiry plus the longest an upload attempt
    of this recording may take, look again, and only then replace the run."""
    await created_by_dead_owner(client, journal, expires_at=NOW + 100)
    sandbox.faults.add("upload", UrlExpired(), times=1)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    entry = await run_journaled_check(client, journal, KEY, job(), clock=lambda: NOW, sleep=sleep)
    _sending, attempt = client.timeouts.upload_limits(sample_recording().stat().st_size)
    assert slept == [pytest.approx(100 + attempt)]
    assert entry.ok and entry.creates == 2
    assert sandbox.runs_created(LABEL) == 2 and sandbox.runs_started(LABEL) == 1


async def test_an_expired_url_of_its_own_run_starts_over_at_once_within_the_restarts(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    sandbox.faults.add("upload", UrlExpired(), times=2)
    entry = await run_journaled_check(client, journal, KEY, job(), expired_url_restarts=1)
    assert entry.state == JobState.DONE
    assert entry.error is not None and entry.error["type"] == "UploadURLExpiredError"
    assert entry.creates == 2 and sandbox.runs_created(LABEL) == 2
    assert sandbox.runs_started(LABEL) == 0


async def test_a_poll_deadline_leaves_the_run_uploaded_to_resume(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    from helios_async import DeadlineExceededError

    sandbox.faults.add("upload", NeverFinishes(), times=1)
    with pytest.raises(DeadlineExceededError) as caught:
        await run_journaled_check(client, journal, KEY, job(deadline=0.3))
    stored = await journal.get(KEY)
    assert stored is not None and stored.state == JobState.UPLOADED
    assert caught.value.model_run_id == stored.model_run_id


async def test_a_zombie_is_stopped_at_its_next_write_and_the_new_owner_bills_nothing_twice(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    """The job is redelivered (its key claimed again) while the first delivery uploads: the
    first one's next write is refused; the second sees the recording arrived and waits."""

    async def steal(entry: JournalEntry) -> None:
        if entry.state == JobState.CREATED:
            await journal.claim(KEY)

    with pytest.raises(JournalConflictError):
        await run_journaled_check(client, journal, KEY, job(), on_entry=steal)
    stored = await journal.get(KEY)
    assert stored is not None and stored.state == JobState.CREATED
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.ok and entry.model_run_id == stored.model_run_id
    assert sandbox.runs_created(LABEL) == 1 and uploads(sandbox) == 1


async def test_many_jobs_at_once_each_get_one_run(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    entries = await asyncio.gather(
        *(run_journaled_check(client, journal, f"row-{n}", job()) for n in range(20))
    )
    assert all(entry.ok for entry in entries)
    assert len({entry.model_run_id for entry in entries}) == 20
    assert sandbox.runs_created() == 20


async def test_the_arguments_are_checked(journal: Journal, client: HeliosClient) -> None:
    with pytest.raises(InvalidInputError, match="key"):
        await run_journaled_check(client, journal, "", job())
    with pytest.raises(InvalidInputError, match="url_ttl"):
        await run_journaled_check(client, journal, KEY, job(), url_ttl=0)
    with pytest.raises(InvalidInputError, match="expired_url_restarts"):
        await run_journaled_check(client, journal, KEY, job(), expired_url_restarts=-1)
    assert await journal.get(KEY) is None


async def test_a_check_cancelled_during_its_create_still_journals_the_run(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    """Cancelling waits for the create's answer, so the run is journaled, not unknown, and
    the next call uploads to it instead of creating another."""
    sandbox.faults.add("create", Slow(0.3), times=1)
    seen: list[JobState] = []
    task = asyncio.create_task(
        run_journaled_check(client, journal, KEY, job(), on_entry=lambda e: seen.append(e.state))
    )
    async with asyncio.timeout(10):
        while seen != [JobState.CREATING]:  # noqa: ASYNC110 (a state to watch, no event)
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = await journal.get(KEY)
    assert stored is not None and stored.state == JobState.CREATED
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.ok and entry.model_run_id == stored.model_run_id
    assert sandbox.runs_created(LABEL) == 1 and uploads(sandbox) == 1


async def test_a_create_that_does_not_answer_within_the_grace_stays_creating(
    journal: Journal, sandbox: Sandbox, client: HeliosClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("helios_async._journal_steps.CANCEL_GRACE", 0.05)
    sandbox.faults.add("create", Slow(5), times=1)
    seen: list[JobState] = []
    task = asyncio.create_task(
        run_journaled_check(client, journal, KEY, job(), on_entry=lambda e: seen.append(e.state))
    )
    async with asyncio.timeout(10):
        while seen != [JobState.CREATING]:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = await journal.get(KEY)
    assert stored is not None and stored.state == JobState.CREATING
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.state == JobState.UNKNOWN and uploads(sandbox) == 0


async def test_a_run_that_is_gone_is_done_with_not_found(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    """The journal names a run the API no longer knows (deleted, or another account's)."""
    missing = "0b7f3c1e-5a4d-4e8b-9c2a-1d6e8f0a2b3c"
    await dead_owner(
        journal,
        JournalEntry(key=KEY, state=JobState.CREATING, creates=1),
        JournalEntry(key=KEY, state=JobState.CREATED, model_run_id=missing, upload_url="x"),
    )
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.state == JobState.DONE
    assert entry.error is not None and entry.error["http_status"] == 404
    assert sandbox.runs_created() == 0 and uploads(sandbox) == 0


async def test_storage_refusing_the_upload_for_good_ends_the_job_done_with_that_error(
    journal: Journal, sandbox: Sandbox, client: HeliosClient
) -> None:
    sandbox.faults.add("upload", ErrorStatus(400), times=1)
    entry = await run_journaled_check(client, journal, KEY, job())
    assert entry.state == JobState.DONE and entry.model_run_id is not None
    assert entry.error is not None
    assert (entry.error["type"], entry.error["http_status"]) == ("UploadError", 400)
    assert sandbox.runs_created(LABEL) == 1 and sandbox.runs_started(LABEL) == 0
