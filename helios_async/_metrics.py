"""The client's OpenTelemetry instruments (imported only when ``opentelemetry-api`` is).

Every attribute is low-cardinality: a method, a host, a status, an outcome, a phase. Never a
run id, a user label, a tag or a URL with its object key.
"""

from __future__ import annotations

from typing import Any, Final

from opentelemetry import metrics

from ._version import __version__

# The stable HTTP metric's advisory boundaries (semantic conventions, http-metrics), seconds.
HTTP_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
# A check, a phase or the server's processing: seconds to minutes.
CHECK_BUCKETS: Final = (0.5, 1, 2.5, 5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 600)
POLL_BUCKETS: Final = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233)


class Instruments:
    """The instruments of one meter provider (the global one when ``None``)."""

    def __init__(self, meter_provider: Any) -> None:
        meter = metrics.get_meter("helios_async", __version__, meter_provider=meter_provider)
        self.http_duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=HTTP_BUCKETS,
        )
        self.check_duration = meter.create_histogram(
            "helios.check.duration",
            unit="s",
            description="Duration of a wellness check, by outcome.",
            explicit_bucket_boundaries_advisory=CHECK_BUCKETS,
        )
        self.phase_duration = meter.create_histogram(
            "helios.check.phase.duration",
            unit="s",
            description="Duration of one phase of a wellness check: create, upload or wait.",
            explicit_bucket_boundaries_advisory=CHECK_BUCKETS,
        )
        self.polls = meter.create_histogram(
            "helios.check.polls",
            unit="{poll}",
            description="Polls a wellness check made while waiting for its run.",
            explicit_bucket_boundaries_advisory=POLL_BUCKETS,
        )
        self.processing = meter.create_histogram(
            "helios.model_run.processing.duration",
            unit="s",
            description="The server's processing time of a run, from runAt to completedAt.",
            explicit_bucket_boundaries_advisory=CHECK_BUCKETS,
        )
        self.active = meter.create_up_down_counter(
            "helios.check.active",
            unit="{check}",
            description="Wellness checks in flight.",
        )
