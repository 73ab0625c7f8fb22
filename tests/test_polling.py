"""Waiting for a model run to finish (helios-api.md §5: poll about every 3 s; D11)."""

from __future__ import annotations

import asyncio
import datetime as dt

import attrs
import pytest
import tenacity

from helios_async import (
    DeadlineExceededError,
    ModelRun,
    ModelRunStatus,
    NotFoundError,
    PollPolicy,
)
from helios_async._polling import wait_until_finished

SAMPLES = 1000
CREATED_AT = dt.datetime(2026, 3, 26, 9, 30, 5, tzinfo=dt.UTC)


def a_run(status: str, *, completed: bool = False) -> ModelRun:
    return ModelRun(
        id="ddebd75b-99b3-42b4-ac65-5ce852c688e9",
        created_at=CREATED_AT,
        status=ModelRunStatus(status),
        user_label="operator-1234",
        completed_at=CREATED_AT if completed else None,
    )


class Runs:
    """Returns the given runs in turn, then keeps returning the last; counts calls."""

    def __init__(self, *runs: ModelRun) -> None:
        self.runs = list(runs)
        self.calls = 0

    async def __call__(self) -> ModelRun:
        self.calls += 1
        return self.runs[min(self.calls, len(self.runs)) - 1]


# --- delay -------------------------------------------------------------------------------------


def test_the_defaults_settle_at_the_documented_three_seconds():
    """§5: recommended interval every 3 seconds."""
    policy = PollPolicy()
    assert policy.interval == 3.0
    assert all(2.7 <= policy.delay(50) <= 3.3 for _ in range(SAMPLES))


@pytest.mark.parametrize("poll_number", [1, 2, 3, 4, 5, 10])
def test_delay_grows_from_first_interval_to_interval_within_the_jitter(poll_number):
    """Each wait is min(interval, first_interval * multiplier**(n-1)) scaled by a random
    factor in [1 - jitter, 1 + jitter]."""
    policy = PollPolicy(first_interval=1.0, interval=3.0, multiplier=1.5, jitter=0.1)
    base = min(3.0, 1.0 * 1.5 ** (poll_number - 1))
    samples = [policy.delay(poll_number) for _ in range(SAMPLES)]
    assert all(base * 0.9 <= s <= base * 1.1 for s in samples)
    # jitter really spreads the waits on both sides of the base
    assert min(samples) < base * 0.97
    assert max(samples) > base * 1.03


def test_delay_without_jitter_is_the_exact_schedule():
    policy = PollPolicy(first_interval=1.0, interval=3.0, multiplier=1.5, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 1.5, 2.25, 3.0, 3.0]


def test_delay_never_shrinks_on_average_as_polls_go_on():
    policy = PollPolicy(first_interval=0.5, interval=3.0, multiplier=2.0, jitter=0.0)
    delays = [policy.delay(n) for n in range(1, 12)]
    assert delays == sorted(delays)
    assert delays[0] == 0.5
    assert delays[-1] == 3.0


@pytest.mark.parametrize(
    "fields",
    [
        {"interval": 0},
        {"first_interval": -1},
        {"multiplier": 0.5},
        {"jitter": -0.1},
        {"jitter": 1.0},
        {"timeout": 0},
    ],
)
def test_nonsensical_poll_policies_are_refused(fields):
    with pytest.raises(ValueError, match=next(iter(fields))):
        PollPolicy(**fields)


# --- a wait's outcome ----------------------------------------------------------------------------

FAST = PollPolicy(first_interval=0.001, interval=0.001, timeout=2)


async def test_polls_until_the_run_is_complete_ok():
    getter = Runs(a_run("CREATED"), a_run("RUNNING"), a_run("RUNNING"), a_run("COMPLETE_OK"))
    run = await wait(getter, FAST, 2)
    assert run.status is ModelRunStatus.COMPLETE_OK
    assert getter.calls == 4


async def test_complete_error_also_ends_the_wait():
    """COMPLETE_ERROR is terminal too; deciding what it means is the caller's job."""
    getter = Runs(a_run("RUNNING"), a_run("COMPLETE_ERROR"))
    run = await wait(getter, FAST, 2)
    assert run.status is ModelRunStatus.COMPLETE_ERROR
    assert getter.calls == 2


async def test_an_unknown_status_keeps_polling_until_completed_at_is_set():
    """PROCESSING waits; completedAt set means finished."""
    getter = Runs(a_run("PROCESSING"), a_run("PROCESSING"), a_run("PROCESSING", completed=True))
    run = await wait(getter, FAST, 2)
    assert run.status.value == "PROCESSING"
    assert run.is_finished
    assert getter.calls == 3


async def test_an_error_from_the_getter_propagates_at_once():
    calls = 0

    async def getter() -> ModelRun:
        nonlocal calls
        calls += 1
        raise NotFoundError(404)

    with pytest.raises(NotFoundError):
        await wait(getter, FAST, 2)
    assert calls == 1


async def test_the_pauses_between_looks_follow_the_policy():
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    getter = Runs(a_run("CREATED"), a_run("RUNNING"), a_run("COMPLETE_OK"))
    policy = PollPolicy(
        first_interval=0.002, interval=0.004, multiplier=2.0, jitter=0.0, sleep=sleep
    )
    await wait(getter, policy, 2)
    assert pauses == [0.002, 0.004]  # no pause before the first look without jitter


def test_the_delay_stays_at_the_interval_however_many_polls_came_before():
    """A long wait (thousands of polls) keeps the steady interval; the growth never overflows."""
    policy = PollPolicy(interval=3.0, jitter=0.0)
    assert policy.delay(100_000) == 3.0


# --- a wait: tenacity's strategies, driven once per look -------------------------------------


class Clock:
    """A virtual event-loop clock: the injected sleep moves it instead of waiting."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        loop = asyncio.get_running_loop()
        self.now = loop.time()
        self.sleeps: list[float] = []
        monkeypatch.setattr(loop, "time", lambda: self.now)

    async def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def wait(getter: Runs, policy: PollPolicy, timeout: float) -> ModelRun:
    deadline = asyncio.get_running_loop().time() + timeout
    return await wait_until_finished(
        getter, policy, deadline=deadline, timeout=timeout, model_run_id="run"
    )


async def test_a_wait_builds_no_tenacity_controller(monkeypatch: pytest.MonkeyPatch):
    """Per look, the policy's strategies (built at its first wait) decide; no controller is
    built per wait, so nothing re-inspects callbacks on every attempt."""
    policy = PollPolicy(first_interval=0.001, interval=0.001, jitter=0.0)
    assert (await wait(Runs(a_run("COMPLETE_OK")), policy, 2)).is_finished  # the first wait

    def no_controller(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a controller was built during the wait")

    monkeypatch.setattr(tenacity, "AsyncRetrying", no_controller)
    getter = Runs(a_run("CREATED"), a_run("RUNNING"), a_run("COMPLETE_OK"))
    assert (await wait(getter, policy, 2)).status is ModelRunStatus.COMPLETE_OK
    assert getter.calls == 3


async def test_a_policy_builds_its_strategies_at_its_first_wait_and_keeps_them():
    """Not before (a policy made, a client built, import tenacity not), and once: each later
    wait reuses them; a policy derived with ``attrs.evolve`` builds its own."""
    policy = PollPolicy(first_interval=0.001, interval=0.001, jitter=0.0)
    assert policy._strategies is None
    await wait(Runs(a_run("RUNNING"), a_run("COMPLETE_OK")), policy, 2)
    built = policy._strategies
    assert built is not None
    await wait(Runs(a_run("COMPLETE_OK")), policy, 2)
    assert policy._strategies is built
    assert attrs.evolve(policy, interval=0.002)._strategies is None


class SlowRuns(Runs):
    """Each look takes ``seconds`` of virtual time."""

    def __init__(self, clock: Clock, seconds: float, *runs: ModelRun) -> None:
        super().__init__(*runs)
        self.clock, self.seconds = clock, seconds

    async def __call__(self) -> ModelRun:
        self.clock.now += self.seconds
        return await super().__call__()


async def test_a_wait_pauses_by_the_policy_then_looks_once_more_by_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
):
    """Looks of 0.25 s, 1 s apart, ending at 0.25, 1.5, ..., 5.25 s; the policy's next look
    would end at 6.5 s, past the 5.9 s deadline, so the pause is cut to 0.13 s (0.65 s left,
    less room for a look twice as long, less the 0.02 s margin) for one last look ending at
    5.63 s; still running, so the wait sleeps out the rest and DeadlineExceededError comes
    at the deadline, with the last run seen."""
    clock = Clock(monkeypatch)
    deadline = clock.now + 5.9
    policy = PollPolicy(first_interval=1.0, interval=1.0, jitter=0.0, sleep=clock)
    getter = SlowRuns(clock, 0.25, a_run("RUNNING"))
    with pytest.raises(DeadlineExceededError) as caught:
        await wait(getter, policy, 5.9)
    assert getter.calls == 6
    assert clock.sleeps == [1.0] * 4 + [pytest.approx(0.13), pytest.approx(0.27)]
    assert clock.now == pytest.approx(deadline)
    assert caught.value.last_run is not None
    assert caught.value.last_run.status is ModelRunStatus.RUNNING


async def test_the_last_look_before_the_deadline_can_still_see_the_run_finish(
    monkeypatch: pytest.MonkeyPatch,
):
    """A run that finishes between the policy's last look and the deadline is returned,
    not reported as out of time."""
    clock = Clock(monkeypatch)
    policy = PollPolicy(first_interval=1.0, interval=1.0, jitter=0.0, sleep=clock)
    getter = SlowRuns(clock, 0.25, *[a_run("RUNNING")] * 5, a_run("COMPLETE_OK"))
    assert (await wait(getter, policy, 5.9)).status is ModelRunStatus.COMPLETE_OK
    assert getter.calls == 6


async def test_the_last_look_is_timed_to_end_by_the_deadline(monkeypatch: pytest.MonkeyPatch):
    """Looks taking 0.2 s: the last pause leaves room for one more look twice as long and
    the margin, so it ends 0.22 s before the deadline even if it runs slower."""
    clock = Clock(monkeypatch)
    deadline = clock.now + 2.0
    policy = PollPolicy(first_interval=1.0, interval=1.0, jitter=0.0, sleep=clock)
    getter = SlowRuns(clock, 0.2, a_run("RUNNING"))
    with pytest.raises(DeadlineExceededError):
        await wait(getter, policy, 2.0)
    # looks end at 0.2 and 1.4; the next would end at 2.6: a 0.18 s pause, a look from 1.58
    # to 1.78, then the rest slept out
    assert clock.sleeps == [1.0, pytest.approx(0.18), pytest.approx(0.22)]
    assert getter.calls == 3
    assert clock.now == pytest.approx(deadline)


async def test_with_no_room_for_a_last_look_the_wait_sleeps_out_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
):
    """Looks taking 0.3 s and 0.2 s left after one: no look could end by the deadline, so
    none is made, and the error comes at the deadline, not 0.2 s before it."""
    clock = Clock(monkeypatch)
    deadline = clock.now + 1.8
    policy = PollPolicy(first_interval=1.0, interval=1.0, jitter=0.0, sleep=clock)
    getter = SlowRuns(clock, 0.3, a_run("RUNNING"))
    with pytest.raises(DeadlineExceededError) as caught:
        await wait(getter, policy, 1.8)
    assert getter.calls == 2  # looks end at 0.3 and 1.6
    assert clock.sleeps == [1.0, pytest.approx(0.2)]
    assert clock.now == pytest.approx(deadline)
    assert "deadline of 1.8 s exceeded in the poll phase" in str(caught.value)


async def test_the_first_look_of_a_wait_is_jittered(monkeypatch: pytest.MonkeyPatch):
    """Many waits started together spread their first looks over first_interval * jitter;
    without jitter the first look is at once."""
    clock = Clock(monkeypatch)
    policy = PollPolicy(first_interval=2.0, jitter=0.25, sleep=clock)
    firsts = []
    for _ in range(50):
        clock.sleeps.clear()
        await wait(Runs(a_run("COMPLETE_OK")), policy, 10)
        (first,) = clock.sleeps
        firsts.append(first)
    assert all(0.0 <= first <= 0.5 for first in firsts)
    assert len(set(firsts)) > 1
    clock.sleeps.clear()
    await wait(Runs(a_run("COMPLETE_OK")), attrs.evolve(policy, jitter=0.0), 10)
    assert clock.sleeps == []


async def test_a_deadline_already_past_raises_without_a_look():
    getter = Runs(a_run("COMPLETE_OK"))
    with pytest.raises(DeadlineExceededError):
        await wait(getter, FAST, -1)
    assert getter.calls == 0


async def test_a_look_still_in_flight_at_the_deadline_is_cut_there():
    """The deadline bounds each look, requests included: a look that never answers ends in
    DeadlineExceededError carrying the run the look before it saw."""
    calls = 0

    async def getter() -> ModelRun:
        nonlocal calls
        calls += 1
        if calls > 1:
            await asyncio.Event().wait()  # never answers
        return a_run("RUNNING")

    policy = PollPolicy(first_interval=0.001, interval=0.001, jitter=0.0)
    deadline = asyncio.get_running_loop().time() + 0.05
    with pytest.raises(DeadlineExceededError) as caught:
        await wait_until_finished(
            getter, policy, deadline=deadline, timeout=0.05, model_run_id="run"
        )
    assert calls == 2
    assert caught.value.last_run is not None
    assert caught.value.last_run.status is ModelRunStatus.RUNNING
