"""``HeliosClient``: the asyncio client of the Helios API (docs/helios.md#endpoints)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Self, Unpack

import aiohttp

from ._client_layers import build_layers, describe, upload_target, with_policies
from ._config import Timeouts
from ._fanout import (
    DEFAULT_CONCURRENCY,
    OnJobCreated,
    WellnessChecks,
    WellnessJob,
    check_concurrency,
    job_runner,
)
from ._hooks import Hooks, reporting_failures
from ._models import (
    Account,
    ActivityRunCreated,
    CreateFields,
    ModelRun,
    ModelRunCreated,
    ModelRunRequest,
    TagsInput,
    User,
)
from ._polling import PollPolicy
from ._recording import RecordingSource, prepare_recording_async
from ._redaction import Secret
from ._retry import RetryPolicy
from ._telemetry import Telemetry
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, Transport
from ._validation import check_seconds, check_upload_url
from ._workflow import run_check


class HeliosClient:
    """An asyncio client of the Helios API, on one ``aiohttp.ClientSession`` by default.

    Use it as ``async with HeliosClient() as client:``. The key comes from ``api_key`` or
    ``THYMIA_API_KEY``; the host from ``base_url``, ``region`` (``"default"``, ``"ca"``,
    ``"us"``), ``THYMIA_BASE_URL`` or ``THYMIA_REGION``. Pass ``session`` to borrow your
    own session: the client then never closes it. Otherwise it owns one with at most
    ``connection_limit`` sockets open, opened on entry and closed on exit (or when the event
    loop it first sent from ends; a client belongs to that loop). A response body over
    ``max_response_bytes`` (4 MiB) raises :class:`~helios_async.ResponseTooLargeError`.
    An https API's ``http`` upload URL is refused
    (:class:`~helios_async.InsecureUploadError`) unless ``allow_http_upload``; a loopback
    upload host is always allowed. ``transport``
    replaces the network altogether (a ``helios_async.Transport``, such as
    ``helios_async.testing.MockTransport``); the client closes it on exit.

    ``timeouts`` bound each request, ``retry`` governs retrying one request, ``poll`` governs
    waiting for runs; ``legacy_get_path`` reads runs from ``GET /v1/models/{id}``.
    ``hooks`` see every request, response, retry, poll and upload chunk;
    ``user_agent_suffix`` is appended to ``User-Agent: helios-async/<v> Python/<v>
    aiohttp/<v>``. The key travels only in the ``x-api-key`` header to the API host,
    never to the upload host and never in a repr, log line, error or span.

    ``telemetry`` (a :class:`~helios_async.Telemetry`) sets how the client traces and meters
    itself with OpenTelemetry, on by default when ``opentelemetry-api`` is installed (the
    ``otel`` extra) and costing nothing when it is not: a span per check, per phase and per
    HTTP attempt, and the metrics of the Observability guide.

    One client is meant to be shared by every task of a process; it is not thread-safe.

    Raises:
        InvalidInputError: no API key, an unknown region or a malformed base URL, or
            both ``session`` and ``transport``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        region: str | None = None,
        session: aiohttp.ClientSession | None = None,
        transport: Transport | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        legacy_get_path: bool = False,
        hooks: Hooks | None = None,
        user_agent_suffix: str | None = None,
        connection_limit: int = 100,
        telemetry: Telemetry | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        allow_http_upload: bool = False,
    ) -> None:
        if isinstance(api_key, str):
            api_key = Secret(api_key)  # so no traceback from here shows it among the locals
        self._connection, self._operations = build_layers(
            api_key,
            base_url=base_url,
            region=region,
            session=session,
            transport=transport,
            timeouts=timeouts,
            retry=retry,
            poll=poll,
            legacy_get_path=legacy_get_path,
            hooks=hooks,
            user_agent_suffix=user_agent_suffix,
            connection_limit=connection_limit,
            telemetry=telemetry,
            max_response_bytes=max_response_bytes,
            allow_http_upload=allow_http_upload,
        )
        self._is_view = False

    @property
    def timeouts(self) -> Timeouts:
        """The per-request time limits in force (seconds)."""
        return self._operations.sender.timeouts

    @property
    def retry(self) -> RetryPolicy:
        """The policy retrying each request."""
        return self._operations.sender.retry

    @property
    def poll(self) -> PollPolicy:
        """The policy of :meth:`wait_for_model_run` and the poll phase of a check."""
        return self._operations.poll

    @property
    def hooks(self) -> Hooks:
        """The callbacks in force."""
        return self._operations.sender.hooks

    @property
    def base_url(self) -> str:
        """The API root in use, e.g. ``https://api.thymia.ai``."""
        return self._operations.endpoints.base_url

    def __repr__(self) -> str:
        return describe(self._connection, self.base_url, view=self._is_view)

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
        429 cool-down; closing a view closes nothing, and closing the parent closes
        the session under every view.
        """
        view = copy.copy(self)
        view._operations = with_policies(
            self._operations, timeouts=timeouts, retry=retry, poll=poll, hooks=hooks
        )
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
            self._connection.check_open()
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
        """The account behind the key (``GET /v1/account``).

        Raises:
            AuthenticationError: the key is missing or invalid (401/403).
            APIError, TransportError, DecodeError: see the error tree.
        """
        return await self._operations.get_account()

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
        """Create a model run to upload a recording to (``POST /v1/models/mental-wellness``).

        Returns the run's ``id`` and its presigned ``recording_upload_url`` (valid 1 hour).

        Raises:
            InvalidInputError: a field breaks its rule; nothing was sent.
            OutcomeUnknownError: the request failed in a way that may have made a run.
            BadRequestError: the API refused the body (422).
            AuthenticationError, RateLimitError, APIError: see the error tree.

        See https://helios-async.readthedocs.io/helios/#request-fields and
        https://helios-async.readthedocs.io/helios/#retries-and-idempotency
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
        tags = request.tags  # rebound: this frame's locals show the tags' redacted repr
        return await self._operations.create(request)

    async def create_activity_run(
        self, *, user: User, language: str, **fields: Unpack[CreateFields]
    ) -> ActivityRunCreated:
        """Create a run recorded through the thymia Activity Plugin.

        Takes the same fields as :meth:`create_model_run`. Poll the run after the user has
        completed the activity at ``activity_link``. Like every create, it is retried only
        after a failed connection or a 429.

        Raises:
            InvalidInputError: a field breaks its rule; nothing was sent.
            OutcomeUnknownError: the request failed in a way that may have made a run,
                including an answer with no id or no activity link.
            BadRequestError: the API refused the body (422).
            AuthenticationError, RateLimitError, APIError: see the error tree.

        See https://helios-async.readthedocs.io/helios/#create-an-activity-run and
        https://helios-async.readthedocs.io/helios/#activity-link
        """
        body = ModelRunRequest(user=user, language=language, **fields)
        del fields  # the caller's tags, raw: a traceback's locals show the body's repr only
        return await self._operations.create_activity(body)

    async def get_model_run(self, model_run_id: str) -> ModelRun:
        """A model run's status and results (``GET /v1/models/mental-wellness/{id}``).

        Raises:
            InvalidInputError: the id is not a UUID; nothing was sent.
            NotFoundError: unknown, or deleted after ``delete_data`` (404).
            APIError, TransportError, DecodeError: see the error tree.
        """
        return await self._operations.get_model_run(model_run_id)

    async def upload_recording(
        self,
        created_or_url: ModelRunCreated | str,
        recording: RecordingSource,
        *,
        check_duration: bool = True,
    ) -> None:
        """PUT a recording to a run's presigned URL.

        ``recording`` is a path, bytes, or a seekable binary file (read from its current
        position). Files are streamed from disk on each attempt with an exact
        ``Content-Length``; the request carries the format's ``Content-Type`` and never the
        API key. Local checks come first (``check_duration=False`` skips the length check). See
        https://helios-async.readthedocs.io/helios/#upload-rules

        Raises:
            InvalidInputError: the URL is not an absolute http(s) URL; nothing was sent.
            RecordingError: the recording fails a local check; nothing was sent.
            UploadURLExpiredError: the URL expired or was refused (403): create a new run.
            UploadError: storage refused the upload otherwise.
            TransportError: the upload could not be completed.
        """
        url, run_id = upload_target(created_or_url)
        created_or_url = url  # rebound: this frame's locals show the URL's repr, not its signature
        check_upload_url(url)
        prepared = await prepare_recording_async(recording, check_duration=check_duration)
        await self._operations.upload(url, prepared, model_run_id=run_id)

    async def wait_for_model_run(
        self, model_run_id: str, *, timeout: float | None = None
    ) -> ModelRun:
        """Poll a run until it finishes and return it, whatever its final status.

        Polls back off from ``poll.first_interval`` to about every ``poll.interval`` seconds
        (3 s by default) with jitter. ``timeout`` (seconds, finite and above 0; default
        ``poll.timeout``) bounds the whole wait, requests included: the wait never runs past
        it; when the next look would fall past it, one last look is timed to end by it, and
        the error comes once the time has run out, never before.

        Raises:
            DeadlineExceededError: the run did not finish in time; ``last_run`` is the last seen.
            NotFoundError, APIError, TransportError: a poll failed after its retries.

        See https://helios-async.readthedocs.io/helios/#polling and
        https://helios-async.readthedocs.io/helios/#unknown-values
        """
        budget = check_seconds("timeout", timeout) or self.poll.timeout
        return await self._operations.wait_for(model_run_id, timeout=budget)

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
        """Create a run, upload the recording, wait for it: the whole check.

        ``fields`` are the optional create fields of :meth:`create_model_run`. The recording and
        every field are checked before the run is created. ``deadline`` (seconds) bounds the
        whole workflow; each phase gets what remains. ``on_created`` (a function or coroutine
        function) is called with each new run the moment it exists, so a caller who cancels
        can resume with :meth:`wait_for_model_run`; an exception it raises stops the check
        as :class:`~helios_async.HookError` (the exception its ``__cause__``) carrying the run's
        ``model_run_id``, nothing uploaded. If the presigned URL has expired, the
        check starts over with a new run up to ``expired_url_restarts`` times (the remedy the
        API documents); the abandoned run stays ``CREATED`` and is never processed.

        Returns the ``COMPLETE_OK`` run.

        Raises:
            InvalidInputError, RecordingError: refused locally; no run was created.
            HookError: ``on_created`` (or a :class:`~helios_async.Hooks` hook) raised.
            ModelRunFailedError: the run ended ``COMPLETE_ERROR`` (see its ``error_code``).
            DeadlineExceededError: ``deadline`` passed; ``phase`` and ``phase_seconds`` say
                where, ``model_run_id`` the run if one was created.
            UploadURLExpiredError, OutcomeUnknownError, APIError, TransportError: as raised by
                the steps.

        See https://helios-async.readthedocs.io/helios/#the-flow
        """
        body = ModelRunRequest(user=user, language=language, **fields)
        del fields  # the caller's tags, raw: a traceback's locals show the body's repr only
        return await run_check(
            self._operations,
            recording,
            body,
            deadline=check_seconds("deadline", deadline),
            poll_timeout=self.poll.timeout,
            on_created=(
                None
                if on_created is None
                else reporting_failures("on_created", "run_wellness_check", on_created)
            ),
            check_duration=check_duration,
            expired_url_restarts=expired_url_restarts,
        )

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
        ``Retry-After`` pauses every request of the client until it has passed.
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
        self._connection.check_open()
        return WellnessChecks(
            job_runner(self._operations, poll_timeout=self.poll.timeout),
            jobs,
            concurrency=check_concurrency(concurrency, self._connection.pool_limit),
            on_created=on_created,
        )
