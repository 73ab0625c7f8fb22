"""Callbacks that let users log, meter and trace the client without monkeypatching.

Every hook is a plain function (not a coroutine) called inline, so it must be quick; an
exception it raises reaches the caller as :class:`~helios_async.HookError` (the exception
is its ``__cause__``), so a broken hook is never silent, and never loses what the request
made: a create whose ``on_response`` hook raised still carries its run's id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ._errors import HookError
from ._models import ModelRun

__all__ = ["Hooks", "RequestEvent", "ResponseEvent", "RetryEvent"]


@attrs.frozen(kw_only=True)
class RequestEvent:
    """A request about to be sent: ``operation`` (``"get_model_run"``, ``"upload_recording"``,
    ...), ``method``, ``url`` (presigned signatures redacted, §4) and ``attempt`` (1-based).
    It never carries the API key or any header."""

    operation: str
    method: str
    url: str
    attempt: int


@attrs.frozen(kw_only=True)
class ResponseEvent:
    """A response received, whatever its status: the request's fields plus ``status``,
    ``elapsed`` (seconds, sending included) and ``request_id`` where the response carried one
    (the API's request id header; object storage may send none)."""

    operation: str
    method: str
    url: str
    attempt: int
    status: int
    elapsed: float
    request_id: str | None


@attrs.frozen(kw_only=True)
class RetryEvent:
    """A retry scheduled: ``operation``, the ``attempt`` that failed (1-based), the ``delay``
    before the next one (seconds: the backoff, or the server's ``Retry-After``) and the
    ``error`` that caused it (D2, D13)."""

    operation: str
    attempt: int
    delay: float
    error: BaseException


@attrs.frozen(kw_only=True)
class Hooks:
    """Callbacks a :class:`~helios_async.HeliosClient` calls as it works.

    For one wellness check they fire in this order: ``on_request`` and ``on_response`` for the
    create POST; ``on_request``, ``on_upload_progress`` (once per chunk, with bytes sent so
    far and the total in bytes) and ``on_response`` for the upload PUT; then, per poll,
    ``on_request``, ``on_response`` and ``on_poll`` (with the run seen). ``on_retry`` fires
    between a failed attempt and its retry (after its ``on_response``, if a response came);
    a retried upload resends every byte, so its progress starts again from the first chunk.
    The requests are those of helios-api.md §2 and §4.

    Each hook is a plain function called inline; an exception it raises reaches the caller
    as :class:`~helios_async.HookError` and is not retried. ``on_response`` runs before the
    response is judged, and a failure of it does not stop that: the error's ``result`` and
    ``model_run_id`` keep what the request made (``run_wellness_check`` still calls
    ``on_created`` with a run whose create's hook raised).
    """

    on_request: Callable[[RequestEvent], None] | None = None
    on_response: Callable[[ResponseEvent], None] | None = None
    on_retry: Callable[[RetryEvent], None] | None = None
    on_poll: Callable[[ModelRun], None] | None = None
    on_upload_progress: Callable[[int, int], None] | None = None


def call_hook(
    name: str, operation: str, hook: Callable[..., None], *args: Any, result: object = None
) -> None:
    """Call ``hook(*args)``; what it raises becomes a HookError naming it."""
    try:
        hook(*args)
    except Exception as exc:
        raise HookError(name, operation, exc, result=result) from exc
