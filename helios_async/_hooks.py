"""Callbacks that let users log, meter and trace the client without monkeypatching.

Every hook is a plain function (not a coroutine) called inline, so it must be quick; an
exception it raises propagates to the caller, so a broken hook is never silent.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ._models import ModelRun

__all__ = ["Hooks", "RequestEvent", "ResponseEvent", "RetryEvent"]


def without_personal_data(run: ModelRun, *, keep_label: bool = False) -> ModelRun:
    """``run`` as ``on_poll`` sees it: no transcript and no ``raw`` JSON (which holds the
    label, the transcript and any tags), and no user label unless ``keep_label``
    (``Telemetry(include_labels=True)``)."""
    results = run.results
    if results is not None:
        sections = tuple(attrs.evolve(section, transcript="") for section in results.sections)
        results = attrs.evolve(results, sections=sections)
    label = run.user_label if keep_label else ""
    return attrs.evolve(run, user_label=label, results=results, raw={})


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
    ``on_request``, ``on_response`` and ``on_poll`` (with the run seen, its transcripts and
    ``raw`` JSON blanked, and its user label unless ``Telemetry(include_labels=True)``).
    ``on_retry`` fires
    between a failed attempt and its retry (after its ``on_response``, if a response came);
    a retried upload resends every byte, so its progress starts again from the first chunk.
    The requests are those of helios-api.md §2 and §4.

    Each hook is a plain function called inline; an exception it raises propagates to the
    caller and is not retried.
    """

    on_request: Callable[[RequestEvent], None] | None = None
    on_response: Callable[[ResponseEvent], None] | None = None
    on_retry: Callable[[RetryEvent], None] | None = None
    on_poll: Callable[[ModelRun], None] | None = None
    on_upload_progress: Callable[[int, int], None] | None = None
