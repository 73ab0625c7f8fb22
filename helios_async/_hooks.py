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
from ._model_methods import ModelMethods
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


@attrs.frozen(kw_only=True, eq=False, repr=False)
class RequestEvent(ModelMethods):
    """A request about to be sent. It never carries the API key or any header."""

    operation: str
    """The client method: ``"get_account"``, ``"create_model_run"``, ``"create_activity_run"``,
    ``"get_model_run"`` or ``"upload_recording"``."""
    method: str
    """The HTTP method: ``"GET"``, ``"POST"`` or ``"PUT"``."""
    url: str
    """The URL, with a presigned URL's signature replaced by ``?<redacted>``."""
    attempt: int
    """Which attempt this is, from 1."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class ResponseEvent(ModelMethods):
    """A response received, whatever its status: the request's fields and what came back."""

    operation: str
    """The client method: ``"get_account"``, ``"create_model_run"``, ``"create_activity_run"``,
    ``"get_model_run"`` or ``"upload_recording"``."""
    method: str
    """The HTTP method."""
    url: str
    """The URL, signature redacted."""
    attempt: int
    """Which attempt this answers, from 1."""
    status: int
    """The HTTP status."""
    elapsed: float
    """Seconds from sending the request to reading the response, sending included."""
    request_id: str | None
    """The API's request id header, where the response carried one (object storage may send
    none); quote it to thymia support."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class RetryEvent(ModelMethods):
    """A retry scheduled after a failed attempt.

    See https://helios-async.readthedocs.io/helios/#retries-and-idempotency
    """

    operation: str
    """The client method: ``"get_account"``, ``"create_model_run"``, ``"create_activity_run"``,
    ``"get_model_run"`` or ``"upload_recording"``."""
    attempt: int
    """The attempt that failed, from 1."""
    delay: float
    """Seconds until the next attempt: the backoff, or the server's ``Retry-After``."""
    error: BaseException
    """What made the attempt fail."""


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Hooks(ModelMethods):
    """Callbacks a :class:`~helios_async.HeliosClient` calls as it works.

    For one wellness check they fire in this order: ``on_request`` and ``on_response`` for the
    create POST; ``on_request``, ``on_upload_progress`` (once per chunk, with bytes sent so
    far and the total in bytes) and ``on_response`` for the upload PUT; then, per poll,
    ``on_request``, ``on_response`` and ``on_poll`` (with the run seen, its transcripts and
    ``raw`` JSON blanked, and its user label unless ``Telemetry(include_labels=True)``).
    ``on_retry`` fires
    between a failed attempt and its retry (after its ``on_response``, if a response came);
    a retried upload resends every byte, so its progress starts again from the first chunk.
    The requests are those of https://helios-async.readthedocs.io/helios/#endpoints

    Each hook is a plain function called inline; an exception it raises reaches the caller
    as :class:`~helios_async.HookError` and is not retried. ``on_response`` runs before the
    response is judged, and a failure of it does not stop that: the error's ``result`` and
    ``model_run_id`` keep what the request made (``run_wellness_check`` still calls
    ``on_created`` with a run whose create's hook raised).
    """

    on_request: Callable[[RequestEvent], None] | None = None
    """Called before each attempt is sent."""
    on_response: Callable[[ResponseEvent], None] | None = None
    """Called when an attempt's response has been read, whatever its status."""
    on_retry: Callable[[RetryEvent], None] | None = None
    """Called between a failed attempt and its retry."""
    on_poll: Callable[[ModelRun], None] | None = None
    """Called with the run seen after each poll of ``wait_for_model_run``."""
    on_upload_progress: Callable[[int, int], None] | None = None
    """Called as each chunk of an upload is sent, with the bytes sent so far and the total."""


def call_hook(
    name: str, operation: str, hook: Callable[..., None], *args: Any, result: object = None
) -> None:
    """Call ``hook(*args)``; what it raises becomes a HookError naming it."""
    try:
        hook(*args)
    except Exception as exc:
        raise HookError(name, operation, exc, result=result) from exc
