"""Callbacks that let users log, meter and trace the client without monkeypatching.

Every hook is a plain function (not a coroutine) called inline, so it must be quick; an
exception it raises reaches the caller as :class:`~helios_async.HookError` (the exception
is its ``__cause__``), so a broken hook is never silent, and never loses what the request
made: a create whose ``on_response`` hook raised still carries its run's id.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs

from ._errors import HookError, InvalidInputError
from ._model_methods import ModelMethods
from ._models import ModelRun

__all__ = ["Hooks", "RequestEvent", "ResponseEvent", "RetryEvent"]

T = TypeVar("T")


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


def _plain_function(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A hook is None or a plain (not async) callable: a coroutine function would be called
    and never awaited, its work silently skipped."""
    if value is None:
        return
    field = f"hooks.{attribute.name}"
    if not callable(value):
        raise InvalidInputError(field, f"must be a function, not {type(value).__name__}")
    if inspect.iscoroutinefunction(value) or inspect.iscoroutinefunction(value.__call__):
        raise InvalidInputError(
            field,
            "must be a plain function, not a coroutine function: hooks are called inline "
            "and never awaited (start a task from a plain function if you need to await)",
        )


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Hooks(ModelMethods):
    """Callbacks a :class:`~helios_async.HeliosClient` calls as it works.

    For one wellness check they fire in this order: ``on_request`` and ``on_response`` for the
    create POST; ``on_request``, ``on_upload_progress`` (once per chunk, with bytes sent so
    far and the total in bytes) and ``on_response`` for the upload PUT; then, per poll,
    ``on_request``, ``on_response`` and ``on_poll`` (with the run seen, as decoded: a hook is
    the caller's own code, so it gets the label and transcripts; telemetry's privacy rules
    are for what leaves the process). ``on_retry`` fires
    between a failed attempt and its retry (after its ``on_response``, if a response came);
    a retried upload resends every byte, so its progress starts again from the first chunk.
    The requests are those of https://helios-async.readthedocs.io/helios/#endpoints

    Each hook is a plain function called inline; an exception it raises reaches the caller
    as :class:`~helios_async.HookError` and is not retried. Anything else (a coroutine
    function, which would never be awaited, or a value that is not callable) is refused
    here with :class:`~helios_async.InvalidInputError` naming the hook. ``on_response`` runs
    before the response is judged, and a failure of it does not stop that: the error's
    ``result`` and ``model_run_id`` keep what the request made (``run_wellness_check`` still
    calls ``on_created`` with a run whose create's hook raised).
    """

    on_request: Callable[[RequestEvent], None] | None = attrs.field(
        default=None, validator=_plain_function
    )
    """Called before each attempt is sent."""
    on_response: Callable[[ResponseEvent], None] | None = attrs.field(
        default=None, validator=_plain_function
    )
    """Called when an attempt's response has been read, whatever its status."""
    on_retry: Callable[[RetryEvent], None] | None = attrs.field(
        default=None, validator=_plain_function
    )
    """Called between a failed attempt and its retry."""
    on_poll: Callable[[ModelRun], None] | None = attrs.field(
        default=None, validator=_plain_function
    )
    """Called with the run seen after each poll of ``wait_for_model_run``."""
    on_upload_progress: Callable[[int, int], None] | None = attrs.field(
        default=None, validator=_plain_function
    )
    """Called as each chunk of an upload is sent, with the bytes sent so far and the total."""


def call_hook(
    name: str, operation: str, hook: Callable[..., None], *args: Any, result: object = None
) -> None:
    """Call ``hook(*args)``; what it raises becomes a HookError naming it."""
    try:
        hook(*args)
    except Exception as exc:
        raise HookError(name, operation, exc, result=result) from exc


def reporting_failures(
    name: str, operation: str, callback: Callable[[T], Awaitable[None] | None]
) -> Callable[[T], Awaitable[None]]:
    """``callback`` (a function or coroutine function) as a coroutine function whose
    exception becomes a HookError naming it, its argument (a ``ModelRunCreated``) as the
    error's ``result``, so the error carries the run's ``model_run_id``."""

    async def call(argument: T) -> None:
        try:
            returned = callback(argument)
            if inspect.isawaitable(returned):
                await returned
        except Exception as exc:
            raise HookError(name, operation, exc, result=argument) from exc

    return call
