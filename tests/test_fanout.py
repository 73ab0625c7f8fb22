"""``HeliosClient.run_wellness_checks``: many checks, bounded, lazy, cancellable (issue 4).

Against the sandbox, except the cool-down test, which needs a 429 on cue and so runs on the
in-memory transport.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import recordings

from helios_async import (
    ApiRequest,
    ApiResponse,
    ClientClosedError,
    ErrorCode,
    HeliosClient,
    Hooks,
    InvalidInputError,
    ModelRunFailedError,
    ModelRunStatus,
    PollPolicy,
    RecordingError,
    RequestEvent,
    ResponseEvent,
    RetryPolicy,
    User,
    WellnessJob,
    WellnessOutcome,
)
from helios_async.testing import MockTransport, Sandbox, mock_response, sample_recording

FAST_POLL = PollPolicy(first_interval=0.01, interval=0.02, timeout=10.0)
SPEECH = sample_recording()


def person(label: str = "fanout-user") -> User:
    return User(user_label=label, date_of_birth=dt.date(1990, 8, 24), birth_sex="FEMALE")


def job(
    key: Any,
    *,
    label: str = "fanout-user",
    recording: Any = SPEECH,
    language: str = "en-GB",
    **extra: Any,
) -> WellnessJob:
    return WellnessJob(recording=recording, user=person(label), language=language, key=key, **extra)


def check_tasks() -> list[asyncio.Task[Any]]:
    """Tasks of the fan-out still alive (each check and job pull runs in a named task)."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith(("helios-check-", "helios-next-job")) and not task.done()
    ]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(processing_delay=0.05, record_bodies=False) as server:
        yield server


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[HeliosClient]:
    async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL) as c:
        yield c


async def collect(client: HeliosClient, jobs: Any, **options: Any) -> list[WellnessOutcome]:
    async with client.run_wellness_checks(jobs, **options) as outcomes:
        return [outcome async for outcome in outcomes]


# -- outcomes -------------------------------------------------------------------------------


async def test_every_job_gets_one_outcome_with_its_key_and_run(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    outcomes = await collect(client, (job(i) for i in range(12)), concurrency=4)
    assert sorted(outcome.key for outcome in outcomes) == list(range(12))
    for outcome in outcomes:
        assert outcome.ok and outcome.error is None
        assert outcome.run is not None and outcome.run.status is ModelRunStatus.COMPLETE_OK
        assert outcome.model_run_id == outcome.run.id == outcome.result().id
        assert outcome.elapsed > 0
    assert len({outcome.model_run_id for outcome in outcomes}) == 12
    assert sandbox.runs_created() == 12


async def test_outcomes_come_in_the_order_the_checks_finish(client: HeliosClient) -> None:
    """The first job is held back after its run is created; the later ones overtake it."""
    release = asyncio.Event()

    async def hold_the_first(held: WellnessJob, _created: Any) -> None:
        if held.key == "slow":
            await release.wait()

    order = []
    jobs = [job("slow"), job("fast-1"), job("fast-2")]
    async with client.run_wellness_checks(
        jobs, concurrency=3, on_created=hold_the_first
    ) as outcomes:
        async for outcome in outcomes:
            order.append(outcome.key)
            if len(order) == 2:
                release.set()
    assert sorted(order[:2]) == ["fast-1", "fast-2"]
    assert order[2] == "slow"


async def test_each_job_fails_on_its_own_with_its_typed_error(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """One failure never stops the batch: each error is its job's outcome (§3.4, D9)."""
    sandbox.set_outcome("doomed", "ERR_INTERNAL")
    jobs = [
        job("short", recording=recordings.recording("short.wav")),
        job("internal", label="doomed"),
        job("silence", recording=recordings.recording("silence-15s.wav")),
        job("ok-1"),
        job("bad-language", language="english"),
        job("missing", recording="/nonexistent/recording.wav"),
        job("ok-2"),
    ]
    by_key = {outcome.key: outcome for outcome in await collect(client, jobs, concurrency=3)}
    assert set(by_key) == {
        "short",
        "internal",
        "silence",
        "ok-1",
        "bad-language",
        "missing",
        "ok-2",
    }

    short = by_key["short"]
    assert isinstance(short.error, RecordingError) and short.model_run_id is None
    assert short.error.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    internal = by_key["internal"]
    assert isinstance(internal.error, ModelRunFailedError)
    assert internal.error.error_code is ErrorCode.ERR_INTERNAL
    assert internal.run is not None and internal.run.status is ModelRunStatus.COMPLETE_ERROR
    assert internal.model_run_id == internal.run.id
    silence = by_key["silence"]
    assert isinstance(silence.error, ModelRunFailedError)
    assert silence.error.error_code is ErrorCode.ERR_TRANSCRIPTION_FAILED
    assert isinstance(by_key["bad-language"].error, InvalidInputError)
    assert isinstance(by_key["missing"].error, RecordingError)
    assert by_key["ok-1"].ok and by_key["ok-2"].ok
    with pytest.raises(ModelRunFailedError):
        internal.result()
    # Refused locally: no run for short, bad-language, missing.
    assert sandbox.runs_created() == 4


# -- laziness and bounds --------------------------------------------------------------------


class CountingJobs:
    """A job source that records how far it has been read, and how far ahead of the
    outcomes received each read was."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.taken = 0
        self.received = 0
        self.most_ahead = 0

    def __iter__(self) -> Iterator[WellnessJob]:
        for number in itertools.count() if self.total is None else range(self.total):
            self.taken += 1
            self.most_ahead = max(self.most_ahead, self.taken - self.received)
            yield job(number)


async def test_jobs_are_read_lazily_from_an_endless_source(client: HeliosClient) -> None:
    """An endless generator works: jobs are taken only as slots free."""
    jobs = CountingJobs(total=None)
    async with client.run_wellness_checks(jobs, concurrency=3) as outcomes:
        async for _ in outcomes:
            jobs.received += 1
            if jobs.received == 7:
                break
    assert jobs.taken <= 7 + 3
    assert jobs.most_ahead <= 3
    assert check_tasks() == []


async def test_never_more_than_concurrency_checks_or_requests_in_flight(
    sandbox: Sandbox,
) -> None:
    """Measured from outside the fan-out: runs created but not yet reported, and HTTP
    requests between on_request and on_response."""
    requests_open = 0
    most_requests = 0

    def on_request(_event: RequestEvent) -> None:
        nonlocal requests_open, most_requests
        requests_open += 1
        most_requests = max(most_requests, requests_open)

    def on_response(_event: ResponseEvent) -> None:
        nonlocal requests_open
        requests_open -= 1

    runs_open: set[str] = set()
    most_runs = 0

    def on_created(_job: WellnessJob, created: Any) -> None:
        nonlocal most_runs
        runs_open.add(created.id)
        most_runs = max(most_runs, len(runs_open))

    jobs = CountingJobs(total=30)
    hooks = Hooks(on_request=on_request, on_response=on_response)
    async with (
        HeliosClient(
            sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL, hooks=hooks
        ) as client,
        client.run_wellness_checks(jobs, concurrency=5, on_created=on_created) as outcomes,
    ):
        async for outcome in outcomes:
            jobs.received += 1
            runs_open.discard(outcome.model_run_id or "")
            assert outcomes.in_flight <= 5
    assert jobs.received == jobs.taken == 30
    assert jobs.most_ahead <= 5
    assert 1 < most_runs <= 5
    assert 1 < most_requests <= 5


async def test_an_async_job_source_is_read_while_outcomes_flow(client: HeliosClient) -> None:
    """The source may wait on the consumer: it is read in a task of its own, not inline."""
    first_received = asyncio.Event()

    async def jobs() -> AsyncIterator[WellnessJob]:
        yield job("a")
        await first_received.wait()  # would deadlock if the fan-out awaited the source inline
        yield job("b")

    keys = []
    async with client.run_wellness_checks(jobs(), concurrency=2) as outcomes:
        async for outcome in outcomes:
            keys.append(outcome.key)
            first_received.set()
    assert keys == ["a", "b"]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "4"])
async def test_concurrency_must_be_a_positive_int(client: HeliosClient, bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="concurrency"):
        client.run_wellness_checks([], concurrency=bad)


async def test_concurrency_beyond_the_connection_pool_is_refused(sandbox: Sandbox) -> None:
    """The pool and the concurrency agree: more checks than connections is an error."""
    async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url, connection_limit=4) as c:
        with pytest.raises(InvalidInputError, match="connection_limit"):
            c.run_wellness_checks([], concurrency=5)
        assert c.run_wellness_checks([], concurrency=4).concurrency == 4
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=3)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        HeliosClient(sandbox.api_key, base_url=sandbox.base_url, session=session) as c,
    ):
        with pytest.raises(InvalidInputError, match="3"):
            c.run_wellness_checks([], concurrency=4)


async def test_a_closed_client_refuses_at_once(sandbox: Sandbox) -> None:
    client = HeliosClient(sandbox.api_key, base_url=sandbox.base_url)
    with pytest.raises(ClientClosedError):
        client.run_wellness_checks([job(1)])


async def test_an_empty_source_yields_nothing(client: HeliosClient) -> None:
    assert await collect(client, []) == []


# -- stopping -------------------------------------------------------------------------------


async def slow_sandbox_client(sandbox: Sandbox) -> HeliosClient:
    sandbox.processing_delay = 30.0  # runs never finish while the test runs
    return HeliosClient(sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL)


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    """Poll ``condition`` every 10 ms until it holds; fails after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (a condition on the sandbox, no event to wait on)
            await asyncio.sleep(0.01)


async def test_aclose_cancels_the_checks_in_flight(sandbox: Sandbox) -> None:
    async with await slow_sandbox_client(sandbox) as client:
        checks = client.run_wellness_checks((job(i) for i in range(100)), concurrency=4)
        consumer = asyncio.create_task(anext(checks))
        await wait_for(lambda: sandbox.runs_created() == 4)
        assert len(check_tasks()) == 4
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert check_tasks() == []
        await checks.aclose()  # idempotent
        with pytest.raises(StopAsyncIteration):
            await anext(checks)
    assert sandbox.runs_created() == 4


async def test_leaving_async_with_on_an_error_cancels_the_checks(sandbox: Sandbox) -> None:
    sandbox.processing_delay = 30.0
    async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL) as c:
        checks = c.run_wellness_checks([job(1), job(2)], concurrency=2)

        async def consume() -> None:
            async with checks as outcomes:
                async for _ in outcomes:
                    pass

        consumer = asyncio.create_task(consume())
        await wait_for(lambda: sandbox.runs_created() == 2)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert check_tasks() == []

    async with HeliosClient(sandbox.api_key, base_url=sandbox.base_url, poll=FAST_POLL) as c:
        sandbox.processing_delay = 0.0
        with pytest.raises(LookupError):
            await consume_and_fail(c.run_wellness_checks([job(i) for i in range(9)], concurrency=3))
        assert check_tasks() == []


async def consume_and_fail(checks: Any) -> None:
    async with checks as outcomes:
        async for _ in outcomes:
            raise LookupError("the consumer failed")


async def test_cancelling_the_consumer_task_cancels_the_checks(sandbox: Sandbox) -> None:
    async with await slow_sandbox_client(sandbox) as client:

        async def consume() -> None:
            async for _ in client.run_wellness_checks([job(i) for i in range(9)], concurrency=3):
                pass

        consumer = asyncio.create_task(consume())
        await wait_for(lambda: sandbox.runs_created() == 3)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert check_tasks() == []


async def test_breaking_out_of_a_bare_async_for_cancels_the_rest(client: HeliosClient) -> None:
    """Without ``async with``, asyncio finalises the dropped iterator on the next turns."""
    async for outcome in client.run_wellness_checks((job(i) for i in range(50)), concurrency=5):
        assert outcome.ok
        break
    await wait_for(lambda: check_tasks() == [], timeout=2.0)


async def test_a_failing_job_source_stops_the_batch_after_cancelling(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    def jobs() -> Iterator[WellnessJob]:
        yield job(1)
        yield job(2)
        raise OSError("the manifest went away")

    with pytest.raises(OSError, match="manifest"):
        await collect(client, jobs(), concurrency=4)
    assert check_tasks() == []


async def test_something_else_than_a_job_is_a_type_error(client: HeliosClient) -> None:
    with pytest.raises(TypeError, match="WellnessJob"):
        await collect(client, [job(1), {"recording": "x"}], concurrency=4)
    assert check_tasks() == []


# -- the client-wide cool-down (D13) --------------------------------------------------------


async def test_one_retry_after_pauses_every_task_of_the_client(
    examples: dict[str, dict[str, Any]],
) -> None:
    """A 429 seen by one check stops the others' requests until its Retry-After has passed;
    the rate-limited create is then retried once (D13), and every check ends COMPLETE_OK.

    On the in-memory transport with an injected sleep: the cool-down (30 s here) is never
    slept for real; each task's waits and requests are logged in the order they happen."""
    events: list[tuple[str, str, float]] = []  # (task, "sleep" | operation, seconds)
    creates = 0
    polls: dict[str, int] = {}

    def task_name() -> str:
        task = asyncio.current_task()
        return task.get_name() if task is not None else "?"

    async def sleep(seconds: float) -> None:
        events.append((task_name(), "sleep", seconds))
        await asyncio.sleep(0)

    def handler(request: ApiRequest) -> ApiResponse:
        nonlocal creates
        events.append((task_name(), request.operation, 0.0))
        if request.operation == "create_model_run":
            creates += 1
            if creates == 3:
                return mock_response(
                    429, json={"detail": "slow down"}, headers={"Retry-After": "30"}
                )
            run_id = str(uuid.uuid4())
            return mock_response(
                json={"id": run_id, "recordingUploadUrl": f"https://storage.example/{run_id}"}
            )
        if request.operation == "upload_recording":
            return mock_response(200)
        run_id = request.url.rsplit("/", 1)[-1]
        if creates >= 3:  # runs finish only after two polls that follow the 429
            polls[run_id] = polls.get(run_id, 0) + 1
        if polls.get(run_id, 0) < 2:
            return mock_response(json={**examples["run_running"], "id": run_id})
        return mock_response(json={**examples["run_complete_ok"], "id": run_id})

    client = HeliosClient(
        "key",
        base_url="https://helios.example",
        transport=MockTransport(handler),
        retry=RetryPolicy(sleep=sleep),
        poll=PollPolicy(sleep=sleep),
    )
    async with client:
        outcomes = await collect(client, [job(i) for i in range(3)], concurrency=3)

    assert [outcome.ok for outcome in outcomes] == [True, True, True]
    assert creates == 4  # three runs, one create retried after the 429
    create_events = [i for i, (_, op, _s) in enumerate(events) if op == "create_model_run"]
    limited = create_events[2]  # the create answered 429
    after = events[limited + 1 :]
    requests_after = [(i, task) for i, (task, op, _) in enumerate(after) if op != "sleep"]
    assert {task for _, task in requests_after} >= {"helios-check-1", "helios-check-2"}
    for i, task in requests_after:
        waits = [secs for t, op, secs in after[:i] if t == task and op == "sleep"]
        jitter = RetryPolicy().cooldown_jitter  # each waiter resumes at its own moment
        assert waits and 29.0 <= waits[-1] <= 30.0 + jitter, f"{task} sent before the cool-down"


async def test_a_failed_job_leaves_no_reference_cycle_behind(
    client: HeliosClient, sandbox: Sandbox
) -> None:
    """An outcome and its error die by reference counting once dropped: nothing of a job
    (its outcome, its error, the check's state) waits for the cyclic garbage collector,
    which with thousands of checks in flight walks every object still alive."""
    import gc

    from helios_async import HeliosError
    from helios_async._fanout import _Job
    from helios_async._workflow import WellnessCheck

    sandbox.set_outcome("doomed", "ERR_INTERNAL")
    jobs = [
        job("internal", label="doomed"),
        job("bad-language", language="english"),
        job("missing", recording="/nonexistent/recording.wav"),
        job("ok"),
    ]
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        outcomes = await collect(client, jobs, concurrency=2)
        assert sorted(outcome.ok for outcome in outcomes) == [False, False, False, True]
        del outcomes
        gc.collect()
        ours = (WellnessOutcome, HeliosError, _Job, WellnessCheck)
        left = [type(thing).__name__ for thing in gc.garbage if isinstance(thing, ours)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []


async def test_a_text_mode_file_is_its_own_job_s_failure_and_the_others_complete(
    client: HeliosClient, sandbox: Sandbox, tmp_path: Any
) -> None:
    """``open(path, "r")`` as one job's recording: that job's outcome is a RecordingError
    ("open it with 'rb'") before any request; the iterator goes on with the others."""
    path = tmp_path / "speech.wav"
    path.write_bytes(recordings.recording("speech-en.wav").read_bytes())
    with path.open("r") as text:
        outcomes = await collect(client, [job("text", recording=text), job("a"), job("b")])
    by_key = {outcome.key: outcome for outcome in outcomes}
    assert sorted(by_key) == ["a", "b", "text"]
    assert isinstance(by_key["text"].error, RecordingError)
    assert "open it with 'rb'" in str(by_key["text"].error)
    assert by_key["text"].model_run_id is None
    assert by_key["a"].ok and by_key["b"].ok
    assert sandbox.runs_created() == 2


async def test_run_wellness_check_refuses_a_text_mode_file_before_sending(tmp_path: Any) -> None:
    transport = MockTransport(lambda _request: mock_response(500))
    path = tmp_path / "speech.wav"
    path.write_bytes(recordings.recording("speech-en.wav").read_bytes())
    async with HeliosClient("hk-key", transport=transport) as c:
        with path.open("r") as text, pytest.raises(RecordingError, match="open it with 'rb'"):
            await c.run_wellness_check(text, user=person(), language="en-GB")
    assert transport.requests == []
