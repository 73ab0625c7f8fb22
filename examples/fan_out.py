"""Fanning out: many wellness checks at once, a bounded number in flight, one client.

``client.run_wellness_checks(jobs, concurrency=...)`` takes jobs lazily (an iterable or an
async iterable of ``WellnessJob``), runs at most ``concurrency`` checks at a time, and yields
one ``WellnessOutcome`` per job as each finishes. A job's error is its outcome; it never
stops the others. A 429 pauses every request of the client, not just the task that got it.

Run it against the real API (``THYMIA_API_KEY``), or ``--sandbox`` for a local one::

    python examples/fan_out.py --sandbox
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import sys
from collections.abc import Iterator

from helios_async import HeliosClient, ModelRunCreated, User, WellnessJob, WellnessOutcome
from helios_async.testing import sample_recording


def jobs(count: int) -> Iterator[WellnessJob]:
    """The work: read lazily, so a million rows cost no more memory than ten."""
    for n in range(count):
        user = User(
            user_label=f"fan-out-{n:04}", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE"
        )
        recording = sample_recording() if n % 5 else b"not a recording"  # every 5th is refused
        yield WellnessJob(
            recording=recording,
            user=user,
            language="en-GB",
            key=n,  # yours: comes back on the outcome
            deadline=600,  # seconds for this one check
            tags={"batch": "example"},
        )


async def main(base_url: str | None, api_key: str | None, count: int = 12) -> dict[str, int]:
    """Run ``count`` checks, eight at a time; return how many ended which way."""
    created: dict[int, str] = {}

    def remember(job: WellnessJob, run: ModelRunCreated) -> None:
        created[job.key] = run.id  # save it in your database, to resume after a crash

    tally: collections.Counter[str] = collections.Counter()
    async with (
        HeliosClient(api_key, base_url=base_url) as client,
        client.run_wellness_checks(jobs(count), concurrency=8, on_created=remember) as outcomes,
    ):
        async for outcome in outcomes:
            tally[describe(outcome)] += 1
    print(dict(tally), f"{len(created)} runs created")
    return dict(tally)


def describe(outcome: WellnessOutcome) -> str:
    """``"COMPLETE_OK"``, or the name of the error that ended the job."""
    if outcome.ok:
        return outcome.result().status.value
    return type(outcome.error).__name__


async def _cli(argv: list[str]) -> None:
    if "--sandbox" in argv:
        from helios_async.testing import Sandbox

        async with Sandbox(processing_delay=1.0) as sandbox:
            await main(sandbox.base_url, sandbox.api_key)
    else:
        await main(os.environ.get("THYMIA_BASE_URL"), os.environ.get("THYMIA_API_KEY"))


if __name__ == "__main__":
    asyncio.run(_cli(sys.argv[1:]))
