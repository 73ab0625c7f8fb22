"""Sending requests: the one send-and-retry path of every call, the upload included.

One attempt goes through the cool-down, the hooks and the :class:`~helios_async.Transport`;
the retry policy repeats attempts; a pure decoder judges each response. Shared by a client and
its ``with_options`` views, each with its own policies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

import attrs

from ._config import Timeouts
from ._connection import Connection
from ._decoding import parse_retry_after, request_id
from ._errors import HookError
from ._hooks import Hooks, RequestEvent, ResponseEvent, RetryEvent, call_hook
from ._model_methods import ModelMethods
from ._protocol import ApiRequest, ApiResponse, redact_url
from ._recording import RecordingBody
from ._retry import RetryPolicy
from ._telemetry import NULL, Runtime

if TYPE_CHECKING:  # tenacity is imported by the first retry (``_retrying``)
    from tenacity import RetryCallState

T = TypeVar("T")
logger = logging.getLogger("helios_async")

Decoder = Callable[[ApiResponse], T]


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Sender(ModelMethods):
    """Sends a client's requests with its timeouts, retry policy, hooks and telemetry."""

    connection: Connection
    timeouts: Timeouts
    retry: RetryPolicy
    hooks: Hooks
    telemetry: Runtime = NULL
    _bare: bool = attrs.field(init=False, repr=False, eq=False)
    """No hook watches an attempt (``on_request``, ``on_response``, ``on_upload_progress``):
    then, with telemetry off and no cool-down, an attempt is the exchange alone."""

    def __attrs_post_init__(self) -> None:
        hooks = self.hooks
        watched = hooks.on_request or hooks.on_response or hooks.on_upload_progress
        object.__setattr__(self, "_bare", watched is None)

    async def send(
        self,
        request: ApiRequest,
        decoder: Decoder[T],
        *,
        on_sent: Callable[[], None] | None = None,
    ) -> T:
        """Send ``request`` under the retry policy; return what ``decoder`` makes of the answer.

        ``decoder`` is a pure function of the response that returns a model or raises the
        error it means; what it raises is retried per the policy. ``on_sent`` is
        called each time an attempt is past the cool-down and on its way out.

        Raises:
            ClientClosedError: the client is not open, or was closed while the request
                waited; nothing more was sent.
            HookError: a hook raised; what the request returned is on its ``result``.
            Whatever the transport or ``decoder`` raised last, once not worth retrying.
        """
        connection = self.connection
        if not connection.usable:
            connection.check_open()  # fail fast, before the retry controller
        started = time.monotonic()  # total_timeout counts from the first try
        try:  # the first attempt runs bare: most requests succeed at once
            if (
                self._bare
                and on_sent is None
                and not connection.cooldown_until
                and not self.telemetry.enabled
            ):  # nothing to wait out, call or trace: _attempt would only send
                response = await connection.transport.send(request, timeouts=self.timeouts)
                if response.status == 429:
                    self._rate_limited(request, response)
                return decoder(response)
            response, hook_failure = await self._attempt(request, 1, on_sent)
            if hook_failure is None:
                return decoder(response)
            _hook_failed(request, decoder, response, hook_failure)
        except Exception as exc:
            if not self.retry.should_retry(exc, idempotent=request.idempotent):
                raise
            first_failure = exc
        attempt = 1

        async def once() -> T:
            nonlocal attempt
            attempt += 1
            response, hook_failure = await self._attempt(request, attempt, on_sent)
            if hook_failure is None:
                return decoder(response)
            _hook_failed(request, decoder, response, hook_failure)

        return await self._retrying(request, once, first_failure, started)

    async def _attempt(
        self, request: ApiRequest, attempt: int, on_sent: Callable[[], None] | None
    ) -> tuple[ApiResponse, BaseException | None]:
        """One attempt: wait out a cool-down, fire the hooks, start a cool-down on an API 429.

        Returns the response and what the ``on_response`` hook raised, if it did: the
        response is judged all the same, so what it made (a run) is not lost.
        """
        connection = self.connection
        if connection.cooldown_until:  # 0.0 when no cool-down is in force
            await connection.wait_cooldown(self.retry.sleep, self.retry.cooldown_jitter)
        if not connection.usable:  # closed meanwhile (a retry's backoff, a cool-down)
            connection.check_open()
        if on_sent is not None:
            on_sent()
        hooks = self.hooks
        shown = redact_url(request.url) if hooks.on_request or hooks.on_response else ""
        if hooks.on_request is not None:
            event = RequestEvent(
                operation=request.operation, method=request.method, url=shown, attempt=attempt
            )
            call_hook("on_request", request.operation, hooks.on_request, event)
        if hooks.on_upload_progress is not None and isinstance(request.body, RecordingBody):
            request = attrs.evolve(request, body=self._with_progress(request))
        started = time.perf_counter() if hooks.on_response is not None else 0.0
        telemetry = self.telemetry
        if telemetry.enabled:
            with telemetry.http(request, attempt) as traced:  # one CLIENT span per attempt
                response = await connection.transport.send(
                    traced.outgoing(request), timeouts=self.timeouts
                )
                traced.received(response)
        else:  # telemetry off or its API absent: no scope to enter at all
            response = await connection.transport.send(request, timeouts=self.timeouts)
        if response.status == 429:
            self._rate_limited(request, response)
        failure: BaseException | None = None
        if hooks.on_response is not None:
            try:
                hooks.on_response(
                    ResponseEvent(
                        operation=request.operation,
                        method=request.method,
                        url=shown,
                        attempt=attempt,
                        status=response.status,
                        elapsed=time.perf_counter() - started,
                        request_id=request_id(response.headers),
                    )
                )
            except Exception as exc:
                failure = exc
        return response, failure

    def _rate_limited(self, request: ApiRequest, response: ApiResponse) -> None:
        """A 429 from the API starts the client-wide cool-down its ``Retry-After`` asks for;
        storage's limits only itself."""
        if request.to_storage:
            return
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        # One over the cap is raised to the caller at once, and pauses nobody else.
        if retry_after and retry_after <= self.retry.max_retry_after:
            self.connection.start_cooldown(retry_after)

    def _with_progress(self, request: ApiRequest) -> RecordingBody:
        """The body reporting bytes sent so far of this attempt to ``on_upload_progress``."""
        progress = self.hooks.on_upload_progress
        body = request.body
        assert progress is not None
        assert isinstance(body, RecordingBody)
        total, sent = body.size, 0

        def on_chunk(size: int) -> None:
            nonlocal sent
            sent += size
            call_hook("on_upload_progress", request.operation, progress, sent, total)

        return attrs.evolve(body, on_chunk=on_chunk)

    async def _retrying(
        self,
        request: ApiRequest,
        once: Callable[[], Awaitable[T]],
        first_failure: Exception,
        started: float,
    ) -> T:
        """Retry after ``first_failure`` under the policy, with ``once`` making each attempt.

        Only a failure the policy would retry gets here, and hands over to a fresh tenacity
        controller, whose first attempt replays that failure; a controller costs more than
        parsing an answer, so a request that succeeds at once never builds one.
        ``started`` (``time.monotonic()``) is when the first try began: ``total_timeout``
        counts from it.
        """
        replayed = False

        async def attempt() -> T:
            nonlocal replayed
            if not replayed:
                replayed = True
                raise first_failure
            return await once()

        from ._retrying import controller  # here: tenacity is imported by the first retry

        retrying = controller(
            self.retry,
            idempotent=request.idempotent,
            before_sleep=self._on_retry(request.operation),
            sleep=lambda seconds: self.connection.sleep(self.retry.sleep, seconds),
            started=started,
        )
        return await retrying(attempt)

    def _on_retry(self, operation: str) -> Callable[[RetryCallState], None]:
        def retrying(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            logger.info(
                "retrying %s in %.2f s after attempt %d failed: %s",
                operation,
                delay,
                state.attempt_number,
                exc,
            )
            if self.hooks.on_retry is not None and exc is not None:
                event = RetryEvent(
                    operation=operation, attempt=state.attempt_number, delay=delay, error=exc
                )
                call_hook("on_retry", operation, self.hooks.on_retry, event)

        return retrying


def _hook_failed(
    request: ApiRequest, decoder: Decoder[T], response: ApiResponse, failure: BaseException
) -> NoReturn:
    """Raise the HookError of an ``on_response`` hook that raised, carrying what the answer
    made (a run), if the answer was good."""
    result: object
    try:
        result = decoder(response)
    except Exception:
        result = None
    raise HookError("on_response", request.operation, failure, result=result) from failure
