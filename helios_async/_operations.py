"""The client's calls, one method each: build the request, send it, decode the answer.

:class:`Operations` is what the layers above receive (the workflow, the fan-out and the
client's own methods): nothing there reaches into the client. Deadlines and timeouts arrive
already checked where the user gave them, and are never checked again here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import attrs

from . import _decoding as decoding
from ._errors import (
    ConnectError,
    DecodeError,
    OutcomeUnknownError,
    RateLimitError,
    TransientAPIError,
    TransportError,
)
from ._hooks import call_hook
from ._model_methods import ModelMethods
from ._models import Account, ActivityRunCreated, ModelRun, ModelRunCreated, ModelRunRequest
from ._polling import PollPolicy, wait_until_finished
from ._protocol import ApiRequest, ApiResponse, Endpoints
from ._recording import PreparedRecording
from ._sending import Decoder, Sender, T
from ._telemetry import Runtime


@attrs.frozen(kw_only=True, eq=False, repr=False)
class Operations(ModelMethods):
    """Every call of one client (or ``with_options`` view), on its endpoints and sender."""

    endpoints: Endpoints
    sender: Sender
    poll: PollPolicy

    async def get_account(self) -> Account:
        """``GET /v1/account``."""
        request = self.endpoints.get_account()
        return await self.sender.send(request, lambda r: decoding.decode(r, request, Account))

    async def get_model_run(self, model_run_id: str) -> ModelRun:
        """Read a run (either path); raises InvalidInputError for an id that is no UUID."""
        request = self.endpoints.get_model_run(model_run_id)
        return await self.sender.send(request, lambda r: decoding.decode(r, request, ModelRun))

    async def create(
        self, body: ModelRunRequest, *, on_sent: Callable[[], None] | None = None
    ) -> ModelRunCreated:
        """Create a run; a failure that may have made a run is an unknown outcome."""
        request = self.endpoints.create_model_run(body)
        return await self._send_create(
            request, body, lambda r: decoding.decode_created(r, request), on_sent
        )

    async def create_activity(self, body: ModelRunRequest) -> ActivityRunCreated:
        """The Activity Plugin create, as :meth:`create`."""
        request = self.endpoints.create_activity_run(body)
        return await self._send_create(
            request, body, lambda r: decoding.decode_activity_run(r, request), None
        )

    async def _send_create(
        self,
        request: ApiRequest,
        body: ModelRunRequest,
        decoder: Decoder[T],
        on_sent: Callable[[], None] | None,
    ) -> T:
        try:
            return await self.sender.send(request, decoder, on_sent=on_sent)
        except (ConnectError, RateLimitError):
            raise  # these prove the server never acted on the POST
        except (TransportError, TransientAPIError, DecodeError) as exc:
            raise OutcomeUnknownError(
                request.operation, user_label=body.user.user_label, cause=exc
            ) from exc

    async def upload(
        self, upload_url: str, recording: PreparedRecording, *, model_run_id: str | None = None
    ) -> None:
        """The presigned PUT, retried as an idempotent request."""
        request = self.endpoints.upload_recording(upload_url, recording, model_run_id=model_run_id)

        def judge(response: ApiResponse) -> None:
            decoding.decode_upload(response, request, model_run_id=model_run_id)

        await self.sender.send(request, judge)

    def wait(
        self,
        model_run_id: str,
        *,
        deadline: float,
        timeout: float,
        seen: Callable[[ModelRun], None] | None = None,
    ) -> Coroutine[Any, Any, ModelRun]:
        """Poll until the run finishes, by ``deadline`` (event-loop time).

        ``timeout`` is the budget in seconds the deadline came from (for the error); ``seen``
        sees every run polled, before the ``on_poll`` hook.
        """
        look = _Look(self, model_run_id, seen)
        return wait_until_finished(  # its coroutine, with no wrapper of ours around it
            look, self.poll, deadline=deadline, timeout=timeout, model_run_id=model_run_id
        )

    async def wait_for(self, model_run_id: str, *, timeout: float) -> ModelRun:
        """:meth:`wait` for ``timeout`` seconds from now."""
        deadline = asyncio.get_running_loop().time() + timeout
        with self.sender.telemetry.wait(model_run_id):
            return await self.wait(model_run_id, deadline=deadline, timeout=timeout)

    @property
    def telemetry(self) -> Runtime:
        """The spans and metrics of this client's calls (``_telemetry.NULL``: none)."""
        return self.sender.telemetry


class _Look:
    """One look of a wait: the GET, its telemetry, ``seen``, then the ``on_poll`` hook. A
    slotted callable rather than a closure: a waiting check keeps one object alive here, not
    a function with seven cells (with thousands waiting, the garbage collector walks each)."""

    __slots__ = ("_model_run_id", "_operations", "_polls", "_seen")

    def __init__(
        self,
        operations: Operations,
        model_run_id: str,
        seen: Callable[[ModelRun], None] | None,
    ) -> None:
        self._operations = operations
        self._model_run_id = model_run_id
        self._seen = seen
        self._polls = 0

    async def __call__(self) -> ModelRun:
        self._polls += 1
        sender = self._operations.sender
        telemetry = sender.telemetry
        with telemetry.poll(self._polls) as traced:  # an event on the wait span, or a span
            run = await self._operations.get_model_run(self._model_run_id)
            traced.seen(run)
        if self._seen is not None:
            self._seen(run)
        on_poll = sender.hooks.on_poll
        if on_poll is not None:  # the caller's own code: the run as decoded
            call_hook("on_poll", "get_model_run", on_poll, run, result=run)
        return run
