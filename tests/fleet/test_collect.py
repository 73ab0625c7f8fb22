"""``fleet collect``: every result once, in order, acknowledged only once on disk; a
collector killed part way resumes without gaps or repeats."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

from helios_async.fleet._collect import collect
from helios_async.fleet._docket import Engine
from helios_async.fleet._results import ResultReader
from helios_async.fleet._state import BatchState


async def emit(engine: Engine, *keys: str) -> None:
    async with engine.redis() as redis:
        state = BatchState(redis, engine.names.batch("b"))
        for key in keys:
            await state.submit(key)
            await state.emit(key, "ok", {"key": key, "status": "COMPLETE_OK"})


def keys_in(path: Path) -> list[str]:
    return [json.loads(line)["key"] for line in path.read_text().splitlines()]


async def test_each_result_is_written_once_in_order_then_deleted_from_redis(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "results.jsonl"
    await emit(engine, *(f"k{i}" for i in range(7)))
    names = engine.names.batch("b")
    async with engine.redis() as redis:
        stats = await collect(redis, names, out)
        assert (stats.written, stats.skipped) == (7, 0)
        assert await redis.xlen(names.results) == 0
        await emit(engine, "k7")
        assert (await collect(redis, names, out)).written == 1
    assert keys_in(out) == [f"k{i}" for i in range(8)]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # labels and scores: the owner only


async def test_an_existing_output_keeps_the_mode_its_owner_gave_it(
    engine: Engine, tmp_path: Path
) -> None:
    out = tmp_path / "results.jsonl"
    out.touch(mode=0o640)
    out.chmod(0o640)
    await emit(engine, "k0")
    async with engine.redis() as redis:
        assert (await collect(redis, engine.names.batch("b"), out)).written == 1
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


async def test_a_collector_killed_after_writing_resumes_without_gaps_or_repeats(
    engine: Engine, tmp_path: Path
) -> None:
    """The killed collector had read five results, written three whole lines and half a
    fourth, and acknowledged none: the next one cuts the half line, skips the three."""
    out = tmp_path / "results.jsonl"
    await emit(engine, *(f"k{i}" for i in range(5)))
    names = engine.names.batch("b")
    async with engine.redis() as redis:
        read = await ResultReader(redis, names).next(5, block=0.1)
        assert [entry.record["key"] for entry in read] == [f"k{i}" for i in range(5)]
        lines = [json.dumps(entry.record) + "\n" for entry in read[:3]]
        out.write_text("".join(lines) + json.dumps(read[3].record)[:10])
        await emit(engine, "k5")
        stats = await collect(redis, names, out)
    assert (stats.skipped, stats.written, stats.repaired) == (3, 3, 10)
    assert keys_in(out) == [f"k{i}" for i in range(6)]


async def test_without_follow_it_stops_once_caught_up_with_follow_once_complete(
    engine: Engine, tmp_path: Path
) -> None:
    names = engine.names.batch("b")
    await emit(engine, "k0")
    async with engine.redis() as redis:
        await BatchState(redis, names).submit("k1")  # queued, no result yet
        assert (await collect(redis, names, tmp_path / "now.jsonl")).written == 1

        async def finish_later() -> None:
            await asyncio.sleep(0.3)
            await emit(engine, "k1")
            await BatchState(redis, names).mark_submit_done()

        later = asyncio.create_task(finish_later())
        stats = await collect(redis, names, tmp_path / "all.jsonl", follow=True, idle=0.1)
        await later
    assert stats.written == 1
    assert keys_in(tmp_path / "all.jsonl") == ["k1"]
