"""Sending requests: one attempt at a time through the hooks and the cool-down, retried by
the policy. Shared by a client and its ``with_options`` views, each with its own policies."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from typing import TypeVar

import aiohttp
import attrs
from tenacity import RetryCallState

from . import _protocol as protocol
from ._config import Timeouts
from ._connection import Connection
from ._errors import RecordingError, request_id
from ._hooks import Hooks, RequestEvent, ResponseEvent, RetryEvent
from ._models import ModelRunCreated
from ._recording import FileChunks, PreparedRecording
from ._retry import RetryPolicy
from ._transport import send

T = TypeVar("T")
logger = logging.getLogger("helios_async")


@attrs.frozen(kw_only=True)
class Sender:
    """Sends a client's requests with its timeouts, retry policy and hooks."""

    connection: Connection
    timeouts: Timeouts
    retry: RetryPolicy
    hooks: Hooks
    # Built once per policy set, not per request.
    _api_timeout: aiohttp.ClientTimeout = attrs.field(
        init=False,
        repr=False,
        default=attrs.Factory(lambda self: self.timeouts.for_api(), takes_self=True),
    )
    _upload_timeout: aiohttp.ClientTimeout = attrs.field(
        init=False,
        repr=False,
        default=attrs.Factory(lambda self: self.timeouts.for_upload(), takes_self=True),
    )

    async def send(
        self,
        operation: str,
        *,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | AsyncIterable[bytes] | None,
        timeout: aiohttp.ClientTimeout,
        attempt: int,
        on_sent: Callable[[], None] | None = None,
    ) -> protocol.ApiResponse:
        """Send one attempt: wait out a cool-down, fire the hooks, start a cool-down on 429.

        ``on_sent`` is called once the request is past the cool-down and on its way out.
        """
        session = self.connection.session()
        await self.connection.wait_cooldown()
        if on_sent is not None:
            on_sent()
        hooks = self.hooks
        shown = protocol.redact_url(url) if hooks.on_request or hooks.on_response else ""
        if self.hooks.on_request is not None:
            self.hooks.on_request(
                RequestEvent(operation=operation, method=method, url=shown, attempt=attempt)
            )
        started = time.perf_counter()
        response = await send(
            session,
            method=method,
            url=url,
            headers=headers,
            body=body,
            timeout=timeout,
            attempt=attempt,
        )
        if self.hooks.on_response is not None:
            self.hooks.on_response(
                ResponseEvent(
                    operation=operation,
                    method=method,
                    url=shown,
                    attempt=attempt,
                    status=response.status,
                    elapsed=time.perf_counter() - started,
                    request_id=request_id(response.headers),
                )
            )
        if response.status == 429 and operation != "upload_recording":  # storage is elsewhere
            retry_after = protocol.parse_retry_after(response.headers.get("Retry-After"))
            # One over the cap is raised to the caller at once, and pauses nobody else.
            if retry_after is not None and retry_after <= self.retry.max_retry_after:
                self.connection.start_cooldown(retry_after)
        return response

    async def call(
        self,
        request: protocol.ApiRequest,
        decoder: Callable[[protocol.ApiResponse], T],
        *,
        on_sent: Callable[[], None] | None = None,
    ) -> T:
        """Send ``request`` under the retry policy and decode the answer with ``decoder``."""
        self.connection.session()  # fail fast, before the retry controller
        attempt = 0

        async def once() -> T:
            nonlocal attempt
            attempt += 1
            response = await self.send(
                request.operation,
                method=request.method,
                url=request.url,
                headers=request.headers,
                body=request.body,
                timeout=self._api_timeout,
                attempt=attempt,
                on_sent=on_sent,
            )
            return decoder(response)

        return await self._retrying(request.operation, request.idempotent, once)

    async def _retrying(
        self, operation: str, idempotent: bool, once: Callable[[], Awaitable[T]]
    ) -> T:
        """Run ``once`` under the retry policy.

        The first attempt runs bare; only a failure the policy would retry hands over to a
        fresh tenacity controller, whose first attempt replays that failure. Most requests
        succeed at once, and a controller costs more than parsing the answer.
        """
        try:
            return await once()
        except Exception as exc:
            if not self.retry.should_retry(exc, idempotent=idempotent):
                raise
            first_failure = exc
        replayed = False

        async def attempt() -> T:
            nonlocal replayed
            if not replayed:
                replayed = True
                raise first_failure
            return await once()

        controller = self.retry.controller(
            idempotent=idempotent, before_sleep=self.on_retry(operation)
        )
        return await controller(attempt)

    def on_retry(self, operation: str) -> Callable[[RetryCallState], None]:
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
                self.hooks.on_retry(
                    RetryEvent(
                        operation=operation, attempt=state.attempt_number, delay=delay, error=exc
                    )
                )

        return retrying

    async def upload(
        self, created_or_url: ModelRunCreated | str, prepared: PreparedRecording
    ) -> None:
        self.connection.session()  # fail fast, before the retry controller
        if isinstance(created_or_url, ModelRunCreated):
            url, run_id = created_or_url.recording_upload_url, created_or_url.id
        else:
            url, run_id = created_or_url, None
        headers = {"Content-Type": prepared.content_type, "Content-Length": str(prepared.size)}
        progress = self.hooks.on_upload_progress
        attempt = 0

        async def once() -> None:
            nonlocal attempt
            attempt += 1
            sent = 0

            def on_chunk(size: int) -> None:
                nonlocal sent
                sent += size
                if progress is not None:
                    progress(sent, prepared.size)

            try:
                stream = prepared.open()  # re-opened per attempt, so a retry resends all
            except OSError as exc:  # removed or made unreadable since it was checked
                raise RecordingError("recording", f"{prepared.name} cannot be read: {exc}") from exc
            with stream:
                response = await self.send(
                    "upload_recording",
                    method="PUT",
                    url=url,
                    headers=headers,
                    body=FileChunks(stream, prepared.size, on_chunk),
                    timeout=self._upload_timeout,
                    attempt=attempt,
                )
            protocol.check_upload_response(
                response.status, response.body, response.headers, model_run_id=run_id
            )

        await self._retrying("upload_recording", True, once)
