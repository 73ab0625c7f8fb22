"""``HeliosClient``: the asyncio client of the Helios API (helios-api.md §2 to §5)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
from tenacity import RetryCallState

from . import _protocol as protocol
from ._config import Timeouts, resolve_api_key, resolve_base_url, user_agent
from ._errors import (
    ClientClosedError,
    ConnectError,
    DeadlineExceededError,
    DecodeError,
    ModelRunFailedError,
    OutcomeUnknownError,
    RateLimitError,
    TransientAPIError,
    TransportError,
)
from ._models import (
    Account,
    ActivityRunCreated,
    ModelRun,
    ModelRunCreated,
    ModelRunRequest,
    ModelRunStatus,
    Tag,
    User,
)
from ._polling import PollPolicy
from ._recording import FileChunks, PreparedRecording, RecordingSource, prepare_recording
from ._retry import RetryPolicy
from ._transport import send

T = TypeVar("T")
logger = logging.getLogger("helios_async")

TagsInput = Mapping[str, str] | Iterable[Tag | tuple[str, str]] | None


class HeliosClient:
    """An asyncio client of the Helios API, on one ``aiohttp.ClientSession``.

    Use it as ``async with HeliosClient() as client:``. The key comes from ``api_key`` or
    ``THYMIA_API_KEY``; the host from ``base_url``, ``region`` (``"default"``, ``"ca"``,
    ``"us"``), ``THYMIA_BASE_URL`` or ``THYMIA_REGION`` (D15). Pass ``session`` to borrow your
    own session: the client then never closes it. Otherwise it owns one with at most
    ``connection_limit`` connections, opened on entry and closed on exit.

    ``timeouts`` bound each request, ``retry`` governs retrying one request, ``poll`` governs
    waiting for runs; ``legacy_get_path`` reads runs from ``GET /v1/models/{id}`` (D1).

    Raises:
        InvalidInputError: no API key, an unknown region or a malformed base URL.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        region: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        legacy_get_path: bool = False,
        user_agent_suffix: str | None = None,
        connection_limit: int = 100,
    ) -> None:
        self._endpoints = protocol.Endpoints(
            base_url=resolve_base_url(base_url, region),
            api_key=resolve_api_key(api_key),
            user_agent=user_agent(user_agent_suffix),
            legacy_get_path=legacy_get_path,
        )
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self._connection_limit = connection_limit
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollPolicy()

    @property
    def base_url(self) -> str:
        """The API root in use, e.g. ``https://api.thymia.ai``."""
        return self._endpoints.base_url

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._session is not None else "not open")
        owner = "owned" if self._owns_session else "borrowed"
        return f"<HeliosClient {self.base_url} {state}, {owner} session>"

    async def open(self) -> Self:
        """Open the owned session (``async with`` does this for you).

        Raises:
            ClientClosedError: the client was closed already.
        """
        if self._closed:
            raise ClientClosedError("this HeliosClient is closed; create a new one")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
                timeout=self.timeouts.for_api(),
            )
        return self

    async def aclose(self) -> None:
        """Close the owned session and its connections; a borrowed one is left open. Idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _require_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this HeliosClient is closed; create a new one")
        if self._session is None:
            raise ClientClosedError(
                "this HeliosClient is not open: use `async with HeliosClient(...) as client`"
            )
        if self._session.closed:
            raise ClientClosedError("the aiohttp session this HeliosClient uses is closed")
        return self._session

    # -- one request, retried -------------------------------------------------------------

    async def _call(
        self, request: protocol.ApiRequest, decoder: Callable[[protocol.ApiResponse], T]
    ) -> T:
        session = self._require_session()
        attempt = 0

        async def once() -> T:
            nonlocal attempt
            attempt += 1
            response = await send(
                session,
                method=request.method,
                url=request.url,
                headers=request.headers,
                body=request.body,
                timeout=self.timeouts.for_api(),
                attempt=attempt,
            )
            return decoder(response)

        controller = self.retry.controller(
            idempotent=request.idempotent, before_sleep=_log_retry(request.operation)
        )
        return await controller(once)

    # -- the endpoints ------------------------------------------------------------------------

    async def get_account(self) -> Account:
        """The account behind the key (E1 ``GET /v1/account``, §2.2).

        Raises:
            AuthenticationError: the key is missing or invalid (401/403).
            APIError, TransportError, DecodeError: see the error tree.
        """
        request = self._endpoints.get_account()
        return await self._call(request, lambda r: protocol.decode(r, request, Account))

    async def create_model_run(
        self,
        *,
        user: User,
        language: str,
        accent: str | None = None,
        sleep_time: dt.datetime | None = None,
        wake_time: dt.datetime | None = None,
        recording_time: dt.datetime | None = None,
        tags: TagsInput = None,
        delete_data: bool = False,
        data_to_delete: Iterable[str] | None = None,
    ) -> ModelRunCreated:
        """Create a model run to upload a recording to (E2, §2.3). Fields as in §6.

        Returns the run's ``id`` and its presigned ``recording_upload_url`` (valid 1 hour).

        Raises:
            InvalidInputError: a field breaks its rule; nothing was sent.
            OutcomeUnknownError: the request failed in a way that may have made a run (D13).
            BadRequestError: the API refused the body (422).
            AuthenticationError, RateLimitError, APIError: see the error tree.
        """
        request = ModelRunRequest(
            user=user,
            language=language,
            accent=accent,
            sleep_time=sleep_time,
            wake_time=wake_time,
            recording_time=recording_time,
            tags=tags,
            delete_data=delete_data,
            data_to_delete=data_to_delete,
        )
        return await self._create(request)

    async def _create(self, body: ModelRunRequest) -> ModelRunCreated:
        request = self._endpoints.create_model_run(body)
        try:
            return await self._call(request, lambda r: protocol.decode(r, request, ModelRunCreated))
        except (ConnectError, RateLimitError):
            raise  # D13: these prove the server never acted on the POST
        except (TransportError, TransientAPIError, DecodeError) as exc:
            raise OutcomeUnknownError(
                "create_model_run", user_label=body.user.user_label, cause=exc
            ) from exc

    async def create_activity_run(
        self, *, user: User, language: str, **fields: Any
    ) -> ActivityRunCreated:
        """Create a run recorded through the thymia Activity Plugin (E3, §2.4, D4).

        Takes the same fields as :meth:`create_model_run`. Poll the run after the user has
        completed the activity at ``activity_link``.
        """
        body = ModelRunRequest(user=user, language=language, **fields)
        request = self._endpoints.create_activity_run(body)
        return await self._call(request, lambda r: protocol.decode_activity_run(r, request))

    async def get_model_run(self, model_run_id: str) -> ModelRun:
        """A model run's status and results (E4 ``GET /v1/models/mental-wellness/{id}``, §2.5).

        Raises:
            InvalidInputError: the id is not a UUID; nothing was sent.
            NotFoundError: unknown, or deleted after ``delete_data`` (404, §3.5).
            APIError, TransportError, DecodeError: see the error tree.
        """
        request = self._endpoints.get_model_run(model_run_id)
        return await self._call(request, lambda r: protocol.decode(r, request, ModelRun))

    async def upload_recording(
        self,
        created_or_url: ModelRunCreated | str,
        recording: RecordingSource,
        *,
        check_duration: bool = True,
    ) -> None:
        """PUT a recording to a run's presigned URL (§4, D14).

        ``recording`` is a path, bytes, or a seekable binary file (read from its current
        position). Files are streamed from disk on each attempt with an exact
        ``Content-Length``; the request carries the format's ``Content-Type`` and never the
        API key. Local checks come first (D9; ``check_duration=False`` skips the length check).

        Raises:
            RecordingError: the recording fails a local check; nothing was sent.
            UploadURLExpiredError: the URL expired or was refused (403): create a new run.
            UploadError: storage refused the upload otherwise.
            TransportError: the upload could not be completed.
        """
        prepared = await asyncio.to_thread(
            prepare_recording, recording, check_duration=check_duration
        )
        await self._upload(created_or_url, prepared)

    async def _upload(
        self, created_or_url: ModelRunCreated | str, prepared: PreparedRecording
    ) -> None:
        session = self._require_session()
        if isinstance(created_or_url, ModelRunCreated):
            url, run_id = created_or_url.recording_upload_url, created_or_url.id
        else:
            url, run_id = created_or_url, None
        headers = {"Content-Type": prepared.content_type, "Content-Length": str(prepared.size)}
        attempt = 0

        async def once() -> None:
            nonlocal attempt
            attempt += 1
            with prepared.open() as stream:  # re-opened per attempt, so a retry resends all
                response = await send(
                    session,
                    method="PUT",
                    url=url,
                    headers=headers,
                    body=FileChunks(stream, prepared.size),
                    timeout=self.timeouts.for_upload(),
                    attempt=attempt,
                )
            protocol.check_upload_response(response.status, response.body, model_run_id=run_id)

        controller = self.retry.controller(
            idempotent=True, before_sleep=_log_retry("upload_recording")
        )
        await controller(once)

    # -- waiting -------------------------------------------------------------------------------

    async def wait_for_model_run(
        self, model_run_id: str, *, timeout: float | None = None
    ) -> ModelRun:
        """Poll a run until it finishes (§5, D11) and return it, whatever its final status.

        Polls back off from ``poll.first_interval`` to about every ``poll.interval`` seconds
        (3 s by default) with jitter. ``timeout`` (seconds, default ``poll.timeout``) is a hard
        deadline for the whole wait, requests included.

        Raises:
            DeadlineExceededError: the run did not finish in time; ``last_run`` is the last seen.
            NotFoundError, APIError, TransportError: a poll failed after its retries.
        """
        budget = self.poll.timeout if timeout is None else timeout
        last: list[ModelRun] = []

        async def poll_once() -> ModelRun:
            run = await self.get_model_run(model_run_id)
            last[:] = [run]
            return run

        run: ModelRun | None
        try:
            async with asyncio.timeout(budget) as scope:
                run = await self.poll.controller(timeout=budget)(poll_once)
        except TimeoutError:
            if not scope.expired():
                raise
            run = None
        if run is None or not run.is_finished:
            raise DeadlineExceededError(
                "poll",
                timeout=budget,
                model_run_id=model_run_id,
                last_run=last[0] if last else None,
            )
        return run

    async def run_wellness_check(
        self,
        recording: RecordingSource,
        *,
        user: User,
        language: str,
        deadline: float | None = None,
        on_created: Callable[[ModelRunCreated], Awaitable[None] | None] | None = None,
        check_duration: bool = True,
        **fields: Any,
    ) -> ModelRun:
        """Create a run, upload the recording, wait for it: the whole check (§2.3 to §5).

        ``fields`` are the optional create fields of :meth:`create_model_run`. The recording and
        every field are checked before the run is created. ``deadline`` (seconds) bounds the
        whole workflow; each phase gets what remains. ``on_created`` is called with the new
        run the moment it exists, so a caller who cancels can resume with
        :meth:`wait_for_model_run`.

        Returns the ``COMPLETE_OK`` run.

        Raises:
            InvalidInputError, RecordingError: refused locally; no run was created.
            ModelRunFailedError: the run ended ``COMPLETE_ERROR`` (``error_code``, §3.4).
            DeadlineExceededError: ``deadline`` passed; ``phase`` and ``phase_seconds`` say
                where, ``model_run_id`` the run if one was created.
            UploadURLExpiredError, OutcomeUnknownError, APIError, TransportError: as raised by
                the steps.
        """
        body = ModelRunRequest(user=user, language=language, **fields)
        prepared = await asyncio.to_thread(
            prepare_recording, recording, check_duration=check_duration
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        timings: dict[str, float] = {}
        phase, created = "create", None
        mark = started

        def finish_phase(name: str) -> None:
            nonlocal mark
            now = loop.time()
            timings[name] = now - mark
            mark = now

        def remaining() -> float | None:
            return None if deadline is None else max(deadline - (loop.time() - started), 0.0)

        try:
            async with asyncio.timeout(None if deadline is None else started + deadline) as scope:
                created = await self._create(body)
                finish_phase("create")
                if on_created is not None:
                    outcome = on_created(created)
                    if outcome is not None:
                        await outcome
                phase = "upload"
                await self._upload(created, prepared)
                finish_phase("upload")
                phase = "poll"
                run = await self.wait_for_model_run(created.id, timeout=remaining())
        except DeadlineExceededError as exc:
            finish_phase(phase)
            raise DeadlineExceededError(
                phase,
                timeout=deadline if deadline is not None else exc.timeout,
                phase_seconds=timings,
                model_run_id=created.id if created else None,
                last_run=exc.last_run,
            ) from None
        except TimeoutError:
            if not scope.expired() or deadline is None:
                raise
            finish_phase(phase)
            raise DeadlineExceededError(
                phase,
                timeout=deadline,
                phase_seconds=timings,
                model_run_id=created.id if created else None,
            ) from None
        if run.status == ModelRunStatus.COMPLETE_ERROR or not run.succeeded:
            raise ModelRunFailedError(run)
        return run


def _log_retry(operation: str) -> Callable[[RetryCallState], None]:
    def log(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        logger.info(
            "retrying %s in %.2f s after attempt %d failed: %s",
            operation,
            delay,
            state.attempt_number,
            exc,
        )

    return log
