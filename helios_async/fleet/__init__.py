"""``helios_async.fleet``: wellness checks at any scale, on a fleet of worker processes.

Workers (``helios-async fleet worker``) take jobs from a Docket queue on Redis, each with
one :class:`~helios_async.HeliosClient`; a batch is submitted with bounded pending work,
and its results come back on a Redis stream. A worker that dies loses no job (another
worker takes its jobs after the redelivery timeout) and bills no run twice (the run journal
says how far each job got); a create that was in flight when its worker died is reported as
unknown, never repeated (docs/helios.md#retries-and-idempotency). A 429 on any worker
pauses the creates of every worker.

Needs the ``fleet`` extra (``pip install 'helios-async[fleet]'``) and a Redis that only the
fleet can reach: the queue carries pickled task arguments (see the README, "Past one
machine"). Recordings are read by the workers, from paths every worker can open.
:class:`RedisJournal`, the run journal the workers keep, is public here too, for journaled
checks of your own (``helios_async.run_journaled_check``) on a Redis.
"""

try:
    import docket as _docket  # noqa: F401  (the engine, from the fleet extra)
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "helios_async.fleet needs the fleet extra: pip install 'helios-async[fleet]'"
    ) from exc

from helios_async._journal_redis import RedisJournal

from ._fleet import Fleet, FleetOutcome
from ._state import BatchCounts
from ._submit import SubmitStats
from ._worker import WorkerOptions, run_worker

__all__ = [
    "BatchCounts",
    "Fleet",
    "FleetOutcome",
    "RedisJournal",
    "SubmitStats",
    "WorkerOptions",
    "run_worker",
]
