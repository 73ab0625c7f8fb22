"""Names in Redis for a fleet and its batches, and the rule a fleet or batch name follows.

Everything the fleet writes outside Docket lives under ``helios-fleet:{fleet}:``:

- ``cooldown``: the fleet-wide 429 cool-down, the Unix time (seconds) until which no worker
  may send a create; ``cooldown:events`` is the channel its changes are broadcast on.
- ``batch:{batch}:results``: the stream of finished jobs (one JSON record each), read by
  ``fleet collect`` through the consumer group ``collectors``.
- ``batch:{batch}:counts``: a hash of counters (``submitted``, ``ok``, ``failed``,
  ``unknown``, ``bad``, ``submit_done``, ``first_at``, ``last_at``).
- ``batch:{batch}:jobs``: job key -> its state (``queued``, then ``ok``, ``failed``,
  ``unknown`` or ``bad``), so a redelivered job never appends a second result.
- ``batch:{batch}:unknown``: job key -> JSON of the job, for creates whose outcome is
  unknown.
- ``journal:{batch}``: the run journal's prefix (one hash per job key).
"""

from __future__ import annotations

import hashlib
import re

import attrs

from helios_async import InvalidInputError

__all__ = ["BatchNames", "FleetNames", "check_name"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_name(field: str, value: object) -> str:
    """``value`` if it is a fleet or batch name: 1 to 64 of ``A-Z a-z 0-9 . _ -``, starting
    with a letter or digit.

    Raises:
        InvalidInputError: anything else.
    """
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInputError(
            field,
            f"must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
            f"digit; got {value!r}",
        )
    return value


def _fleet_name(value: object) -> str:
    return check_name("fleet", value)


@attrs.frozen
class FleetNames:
    """The Redis names of one fleet (a set of workers sharing one Docket)."""

    fleet: str = attrs.field(converter=_fleet_name)

    @property
    def prefix(self) -> str:
        return f"helios-fleet:{self.fleet}"

    @property
    def docket(self) -> str:
        """The Docket's name (its own keys start with it)."""
        return f"{self.prefix}:docket"

    @property
    def cooldown(self) -> str:
        return f"{self.prefix}:cooldown"

    @property
    def cooldown_channel(self) -> str:
        return f"{self.prefix}:cooldown:events"

    def batch(self, batch: str) -> BatchNames:
        return BatchNames(self, check_name("batch", batch))


@attrs.frozen
class BatchNames:
    """The Redis names of one batch of a fleet."""

    fleet: FleetNames
    batch: str

    @property
    def prefix(self) -> str:
        return f"{self.fleet.prefix}:batch:{self.batch}"

    @property
    def results(self) -> str:
        return f"{self.prefix}:results"

    @property
    def counts(self) -> str:
        return f"{self.prefix}:counts"

    @property
    def jobs(self) -> str:
        return f"{self.prefix}:jobs"

    @property
    def unknown(self) -> str:
        return f"{self.prefix}:unknown"

    @property
    def collector_lock(self) -> str:
        return f"{self.prefix}:collector"

    @property
    def journal(self) -> str:
        return f"{self.fleet.prefix}:journal:{self.batch}"

    def task_key(self, job_key: str) -> str:
        """The engine's key for a job: a digest, so no label or key of yours is logged."""
        digest = hashlib.sha256(f"{self.batch}\x00{job_key}".encode()).hexdigest()[:32]
        return f"check-{digest}"
