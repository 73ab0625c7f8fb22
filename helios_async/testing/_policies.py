"""Poll and retry policies fast enough for tests against the local sandbox."""

from __future__ import annotations

from helios_async import PollPolicy, RetryPolicy

__all__ = ["FAST_POLL", "FAST_RETRY"]

FAST_POLL = PollPolicy(first_interval=0.01, interval=0.05, timeout=30.0)
"""The poll policy of the ``helios_client`` fixture: the second poll after 10 ms, then about
every 50 ms, 30 s at most per wait (the real API asks for 3 s)."""

FAST_RETRY = RetryPolicy(attempts=3, backoff_initial=0.01, backoff_max=0.05, total_timeout=10.0)
"""The retry policy of the ``helios_client`` fixture: 3 attempts, waits of at most 50 ms,
10 s in all."""
