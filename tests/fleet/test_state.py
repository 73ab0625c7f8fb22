"""A batch's bookkeeping: one result per key however often its job is delivered, counters
that agree with the results stream, and the unknown creates listed."""

from __future__ import annotations

from helios_async.fleet._docket import Engine
from helios_async.fleet._state import BatchCounts, BatchState


async def test_a_key_gets_one_result_however_often_it_is_emitted(engine: Engine) -> None:
    names = engine.names.batch("b")
    async with engine.redis() as redis:
        state = BatchState(redis, names)
        assert await state.submit("k1") == "new"
        assert await state.submit("k1") == "queued"
        assert await state.emit("k1", "ok", {"key": "k1", "n": 1})
        assert not await state.emit("k1", "failed", {"key": "k1", "n": 2})
        assert await state.submit("k1") == "ok"
        assert await redis.xlen(names.results) == 1
        counts = await state.counts()
    assert (counts.submitted, counts.ok, counts.failed, counts.pending) == (1, 1, 0, 0)


async def test_counters_follow_every_state_and_completion_needs_the_submitter(
    engine: Engine,
) -> None:
    async with engine.redis() as redis:
        state = BatchState(redis, engine.names.batch("b"))
        for key in ("a", "b", "c", "d", "e"):
            await state.submit(key)
        await state.emit("a", "ok", {"key": "a"})
        await state.emit("b", "failed", {"key": "b"})
        await state.emit("c", "unknown", {"key": "c"}, job='{"payload": 1}')
        await state.emit("d", "bad", {"key": "d"})
        counts = await state.counts()
        assert (counts.ok, counts.failed, counts.unknown, counts.bad) == (1, 1, 1, 1)
        assert (counts.finished, counts.pending, counts.complete) == (4, 1, False)
        await state.emit("e", "ok", {"key": "e"})
        assert not (await state.counts()).complete  # the submitter may still add jobs
        await state.mark_submit_done()
        assert (await state.counts()).complete
        assert await state.unknown() == {"c": '{"payload": 1}'}
        await state.forget()
        assert await state.counts() == BatchCounts()


def test_the_rate_is_results_per_second_between_the_first_and_the_last() -> None:
    assert BatchCounts(ok=1, first_at=100.0, last_at=100.0).rate is None
    assert BatchCounts(ok=21, first_at=100.0, last_at=110.0).rate == 2.0
