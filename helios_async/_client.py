"""``HeliosClient``: the asyncio client of the Helios API (helios-api.md §2 to §5)."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Self, TypeVar, Unpack

import aiohttp
import attrs
from yarl import URL

from . import _protocol as protocol
from ._config import Timeouts, resolve_api_key, resolve_base_url, user_agent
from ._connection import Connection
from ._errors import (
    ConnectError,
    DecodeError,
    InvalidInputError,
    OutcomeUnknownError,
    RateLimitError,
    TransientAPIError,
    TransportError,
)
from ._fanout import (
    DEFAULT_CONCURRENCY,
    OnJobCreated,
    WellnessChecks,
    WellnessJob,
    check_concurrency,
)
from ._hooks import Hooks
from ._models import (
    Account,
    ActivityRunCreated,
    CreateFields,
    ModelRun,
    ModelRunCreated,
    ModelRunRequest,
    Tag,
    User,
)
from ._polling import PollPolicy, wait_until_finished
from ._recording import RecordingSource, prepare_recording
from ._retry import RetryPolicy
from ._sending import Sender
from ._validation import check_seconds
from ._workflow import WellnessCheck

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
    ``hooks`` see every request, response, retry, poll and upload chunk;
    ``user_agent_suffix`` is appended to ``User-Agent: helios-async/<v> Python/<v>
    aiohttp/<v>``. The key travels only in the ``x-api-key`` header to the API host (§1.2),
    never to the upload host and never in a repr, log line or error.

    One client is meant to be shared by every task of a process; it is not thread-safe.

    Raises:
        InvalidInputError: no API key, an unknown region or a malformed base URL (§1.1).
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
        hooks: Hooks | None = None,
        user_agent_suffix: str | None = None,
        connection_limit: int = 100,
    ) -> None:
        if isinstance(connection_limit, bool) or not isinstance(connection_limit, int):
            raise InvalidInputError("connection_limit", "must be an int (0: no limit)")
        if connection_limit < 0:
            raise InvalidInputError(
                "connection_limit", f"must be 0 or more, got {connection_limit}"
            )
        self._endpoints = protocol.Endpoints(
            base_url=resolve_base_url(base_url, region),
            api_key=resolve_api_key(api_key),
            user_agent=user_agent(user_agent_suffix),
            legacy_get_path=legacy_get_path,
        )
        timeouts = timeouts or Timeouts()
        self._connection = Connection(
            session, connection_limit=connection_limit, timeout=timeouts.for_api()
        )
        self._sender = Sender(
            connection=self._connection,
            timeouts=timeouts,
            retry=retry or RetryPolicy(),
            hooks=hooks or Hooks(),
        )
        self.poll = poll or PollPolicy()
        """The :class:`~helios_async.PollPolicy` of :meth:`wait_for_model_run` (§5)."""
        self._is_view = False

    @property
    def timeouts(self) -> Timeouts:
        """The per-request time limits in force (seconds)."""
        return self._sender.timeouts

    @property
    def retry(self) -> RetryPolicy:
        """The policy retrying each request (D2, D13)."""
        return self._sender.retry

    @property
    def hooks(self) -> Hooks:
        """The callbacks in force."""
        return self._sender.hooks

    @property
    def base_url(self) -> str:
        """The API root in use, e.g. ``https://api.thymia.ai`` (§1.1, D15)."""
        return self._endpoints.base_url

    def __repr__(self) -> str:
        owner = "owned" if self._connection.owns_session else "borrowed"
        view = " view" if self._is_view else ""
        shown = protocol.redact_url(str(URL(self.base_url).with_user(None)))
        return f"<HeliosClient{view} {shown} {self._connection.state}, {owner} session>"

    def with_options(
        self,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        hooks: Hooks | None = None,
    ) -> HeliosClient:
        """A view of this client with other policies, sharing its session and cool-down.

        ``client.with_options(poll=PollPolicy(timeout=30)).wait_for_model_run(run_id)``.
        A policy not given is the parent's. The view shares the parent's connections and its
        429 cool-down (D13); closing a view closes nothing, and closing the parent closes
        the session under every view.
        """
        view = copy.copy(self)
        view._sender = attrs.evolve(
            self._sender,
            timeouts=timeouts or self.timeouts,
            retry=retry or self.retry,
            hooks=hooks or self.hooks,
        )
        view.poll = poll or self.poll
        view._is_view = True
        return view

    async def open(self) -> Self:
        """Open the owned session (``async with`` does this for you).

        On a ``with_options`` view it opens nothing: the parent must be open.

        Raises:
            ClientClosedError: the client was closed already, or this is a view of a client
                that is not open.
        """
        if self._is_view:
            self._connection.session()
        else:
            self._connection.open()
        return self

    async def aclose(self) -> None:
        """Close the owned session and its connections; a borrowed one is left open.

        Idempotent. On a ``with_options`` view it does nothing.
        """
        if not self._is_view:
            await self._connection.close()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- one request, retried -------------------------------------------------------------

    async def get_account(self) -> Account:
        """The account behind the key (E1 ``GET /v1/account``, §2.2).

        Raises:
            AuthenticationError: the key is missing or invalid (401/403).
            APIError, TransportError, DecodeError: see the error tree.
        """
        request = self._endpoints.get_account()
        return await self._sender.call(request, lambda r: protocol.decode(r, request, Account))

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

    async def _create(
        self, body: ModelRunRequest, *, on_sent: Callable[[], None] | None = None
    ) -> ModelRunCreated:
        request = self._endpoints.create_model_run(body)
        return await self._send_create(
            request, body, lambda r: protocol.decode_created(r, request), on_sent
        )

    async def _send_create(
        self,
        request: protocol.ApiRequest,
        body: ModelRunRequest,
        decoder: Callable[[protocol.ApiResponse], T],
        on_sent: Callable[[], None] | None = None,
    ) -> T:
        """Send a create POST; a failure that may have made a run is an unknown outcome (D13)."""
        try:
            return await self._sender.call(request, decoder, on_sent=on_sent)
        except (ConnectError, RateLimitError):
            raise  # these prove the server never acted on the POST
        except (TransportError, TransientAPIError, DecodeError) as exc:
            raise OutcomeUnknownError(
                request.operation, user_label=body.user.user_label, cause=exc
            ) from exc

    async def create_activity_run(
        self, *, user: User, language: str, **fields: Unpack[CreateFields]
    ) -> ActivityRunCreated:
        """Create a run recorded through the thymia Activity Plugin (E3, §2.4, D4).

        Takes the same fields as :meth:`create_model_run`. Poll the run after the user has
        completed the activity at ``activity_link``. Like every create, it is retried only
        after a failed connection or a 429 (D13).

        Raises:
            InvalidInputError: a field breaks its rule; nothing was sent.
            OutcomeUnknownError: the request failed in a way that may have made a run (D13),
                including an answer with no id or no activity link (D4).
            BadRequestError: the API refused the body (422).
            AuthenticationError, RateLimitError, APIError: see the error tree.
        """
        body = ModelRunRequest(user=user, language=language, **fields)
        request = self._endpoints.create_activity_run(body)
        return await self._send_create(
            request, body, lambda r: protocol.decode_activity_run(r, request)
        )

    async def get_model_run(self, model_run_id: str) -> ModelRun:
        """A model run's status and results (E4 ``GET /v1/models/mental-wellness/{id}``, §2.5).

        Raises:
            InvalidInputError: the id is not a UUID; nothing was sent.
            NotFoundError: unknown, or deleted after ``delete_data`` (404, §3.5).
            APIError, TransportError, DecodeError: see the error tree.
        """
        request = self._endpoints.get_model_run(model_run_id)
        return await self._sender.call(request, lambda r: protocol.decode(r, request, ModelRun))

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
        if not isinstance(created_or_url, ModelRunCreated | str):
            raise InvalidInputError(
                "created_or_url",
                f"must be a ModelRunCreated or its recording_upload_url, not "
                f"{type(created_or_url).__name__}",
            )
        prepared = await asyncio.to_thread(
            prepare_recording, recording, check_duration=check_duration
        )
        await self._sender.upload(created_or_url, prepared)

    async def wait_for_model_run(
        self, model_run_id: str, *, timeout: float | None = None
    ) -> ModelRun:
        """Poll a run until it finishes (§5, D11) and return it, whatever its final status.

        Polls back off from ``poll.first_interval`` to about every ``poll.interval`` seconds
        (3 s by default) with jitter. ``timeout`` (seconds, finite and above 0; default
        ``poll.timeout``) bounds the whole wait, requests included: the wait never runs past
        it, and gives up as soon as the next pause would cross it.

        Raises:
            DeadlineExceededError: the run did not finish in time; ``last_run`` is the last seen.
            NotFoundError, APIError, TransportError: a poll failed after its retries.
        """
        return await self._wait(model_run_id, timeout=timeout)

    async def _wait(
        self,
        model_run_id: str,
        *,
        timeout: float | None,
        seen: Callable[[ModelRun], None] | None = None,
    ) -> ModelRun:
        on_poll = self.hooks.on_poll

        async def look() -> ModelRun:
            run = await self.get_model_run(model_run_id)
            if seen is not None:
                seen(run)
            if on_poll is not None:
                on_poll(run)
            return run

        budget = check_seconds("timeout", timeout) or self.poll.timeout
        return await wait_until_finished(look, self.poll, timeout=budget, model_run_id=model_run_id)

    async def run_wellness_check(
        self,
        recording: RecordingSource,
        *,
        user: User,
        language: str,
        deadline: float | None = None,
        on_created: Callable[[ModelRunCreated], Awaitable[None] | None] | None = None,
        check_duration: bool = True,
        expired_url_restarts: int = 1,
        **fields: Unpack[CreateFields],
    ) -> ModelRun:
        """Create a run, upload the recording, wait for it: the whole check (§2.3 to §5).

        ``fields`` are the optional create fields of :meth:`create_model_run`. The recording and
        every field are checked before the run is created. ``deadline`` (seconds) bounds the
        whole workflow; each phase gets what remains. ``on_created`` (a function or coroutine
        function) is called with each new run the moment it exists, so a caller who cancels
        can resume with :meth:`wait_for_model_run`. If the presigned URL has expired, the
        check starts over with a new run up to ``expired_url_restarts`` times (§4: "create a
        new model run"); the abandoned run stays ``CREATED`` and is never processed.

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
        deadline = check_seconds("deadline", deadline)
        prepared = await asyncio.to_thread(
            prepare_recording, recording, check_duration=check_duration
        )
        check = WellnessCheck(self, body, prepared, deadline=deadline, on_created=on_created)
        return await check.run(expired_url_restarts=expired_url_restarts)

    def run_wellness_checks(
        self,
        jobs: Iterable[WellnessJob] | AsyncIterable[WellnessJob],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_created: OnJobCreated | None = None,
    ) -> WellnessChecks:
        """Run many wellness checks, at most ``concurrency`` at a time; an async iterator of
        one :class:`WellnessOutcome` per job, in the order the checks finish.

        ``jobs`` is an iterable or async iterable of :class:`WellnessJob`, read lazily: a job
        is taken only when a slot frees, so memory stays flat however many there are. Each job
        runs :meth:`run_wellness_check`; its error (``ModelRunFailedError``, ``RecordingError``,
        ``APIError``, ...) becomes its outcome and never stops the others. A 429 with
        ``Retry-After`` pauses every request of the client until it has passed (D13).
        ``on_created(job, created)`` (a function or coroutine function) sees each run the
        moment it exists. Closing the iterator cancels the checks in flight (see
        :class:`WellnessChecks`)::

            async with client.run_wellness_checks(jobs, concurrency=20) as outcomes:
                async for outcome in outcomes:
                    ...

        Raises:
            InvalidInputError: ``concurrency`` is not a positive int, or exceeds the connection
                pool's limit (``connection_limit``, 100 by default): raise that instead.
            ClientClosedError: the client is not open.
        """
        connector = self._connection.session().connector
        limits = [connector.limit, connector.limit_per_host] if connector is not None else []
        pool_limit = min((limit for limit in limits if limit), default=0)
        return WellnessChecks(
            self,
            jobs,
            concurrency=check_concurrency(concurrency, pool_limit),
            on_created=on_created,
        )
