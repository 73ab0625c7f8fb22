"""Waiting for a model run to finish (helios-api.md §5: poll about every 3 s), with tenacity."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import attrs
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_before_delay

from ._models import ModelRun

__all__ = ["PollPolicy"]


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How the client polls a model run until it finishes (§5, D11).

    The first wait is ``first_interval`` seconds; each next one is ``multiplier`` times longer
    up to the steady ``interval`` (the documented 3 s), each scaled by a random factor in
    ``[1 - jitter, 1 + jitter]`` so that many waiting tasks do not poll in step. ``timeout``
    (seconds) is the default deadline of one wait. A fresh tenacity controller is built per
    wait.

    Raises:
        ValueError: an interval or ``timeout`` not positive, ``multiplier`` below 1, or
            ``jitter`` outside ``[0, 1)``.
    """

    interval: float = attrs.field(default=3.0, validator=attrs.validators.gt(0))
    first_interval: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    multiplier: float = attrs.field(default=1.5, validator=attrs.validators.ge(1))
    jitter: float = attrs.field(
        default=0.1, validator=[attrs.validators.ge(0), attrs.validators.lt(1)]
    )
    timeout: float = attrs.field(default=600.0, validator=attrs.validators.gt(0))

    def delay(self, poll_number: int) -> float:
        """Seconds to wait after poll ``poll_number`` (1-based) before the next."""
        base = min(self.interval, self.first_interval * self.multiplier ** (poll_number - 1))
        return base * random.uniform(1.0 - self.jitter, 1.0 + self.jitter)

    def controller(
        self,
        *,
        timeout: float,
        before_sleep: Callable[[RetryCallState], Any] | None = None,
    ) -> AsyncRetrying:
        """A fresh controller that calls a ``ModelRun`` getter until the run is finished.

        It gives up, returning the last unfinished run, when the next wait would pass
        ``timeout`` seconds; errors from the getter propagate at once.
        """
        return AsyncRetrying(
            retry=retry_if_result(_unfinished),
            wait=lambda state: self.delay(state.attempt_number),
            stop=stop_before_delay(timeout),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            before_sleep=before_sleep,
            reraise=True,
        )


def _unfinished(run: ModelRun) -> bool:
    return not run.is_finished
