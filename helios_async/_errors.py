"""The one error tree of helios_async, as plain data.

Every exception the client raises on purpose is a :class:`HeliosError`::

    HeliosError
    ├── InvalidInputError (ValueError)          refused locally; nothing was sent
    │   └── RecordingError                      the recording cannot be used
    ├── ClientClosedError (RuntimeError)        the client was used after it closed
    │   └── WrongEventLoopError                 used from another event loop than its own
    ├── TransportError                          no usable HTTP response arrived
    │   ├── ConnectError                        no connection: the server never saw it
    │   │   └── PoolTimeoutError (TimeoutError) no free connection within Timeouts.pool
    │   ├── RequestTimeoutError (TimeoutError)  a time limit fired (``limit`` says which)
    │   └── ResponseTooLargeError               the body passed max_response_bytes
    ├── DecodeError                             a 2xx body that is not the contract's JSON
    ├── APIError                                the API answered with a refusal
    │   ├── BadRequestError                     400, 410, 422: malformed request
    │   ├── AuthenticationError                 401, 403: missing, invalid or forbidden key
    │   ├── NotFoundError                       404: unknown run, or deleted
    │   ├── RedirectError                       3xx: never followed; ``location`` kept
    │   └── TransientAPIError                   408, 500, 502, 503, 504: worth retrying
    │       └── RateLimitError                  429, with ``retry_after`` in seconds
    ├── UploadError                             storage refused the presigned PUT
    │   ├── UploadURLExpiredError               the URL expired or was refused: new run
    │   └── UploadRedirectError                 3xx from storage: never followed
    ├── InsecureUploadError                     an https API gave an http upload URL
    ├── HookError                               a hook raised; the call's outcome is kept
    ├── OutcomeUnknownError                     a create may or may not have made a run
    ├── ModelRunFailedError                     the run ended COMPLETE_ERROR
    ├── DeadlineExceededError (TimeoutError)    a wait or a whole check ran out of time
    │   └── CreateDeadlineExceededError         a create in flight: also OutcomeUnknownError
    └── JournalConflictError                    a newer delivery owns this journal key: stop

Each error holds the facts it was raised with and builds its message from them, nothing
more: which status means which error, request-id lookup and rendering an error body's
``detail`` are the protocol's job (``_decoding``). Messages never contain the API key: the
key only ever travels in a request header, and no error keeps request headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import ErrorCode, ModelRun

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConnectError",
    "CreateDeadlineExceededError",
    "DeadlineExceededError",
    "DecodeError",
    "HeliosError",
    "HookError",
    "InsecureUploadError",
    "InvalidInputError",
    "JournalConflictError",
    "ModelRunFailedError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PoolTimeoutError",
    "RateLimitError",
    "RecordingError",
    "RedirectError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "TransientAPIError",
    "TransportError",
    "UploadError",
    "UploadRedirectError",
    "UploadURLExpiredError",
    "WrongEventLoopError",
]

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})  # docs/helios.md#status-mapping
_BODY_EXCERPT = 300


class HeliosError(Exception):
    """Base class of every error helios_async raises on purpose (the tree above). Its
    message never contains the API key. Errors pickle whole (their message and every
    attribute), so they cross a process pool.

    See https://helios-async.readthedocs.io/helios/#status-mapping
    """

    def __reduce__(self) -> tuple[object, ...]:
        # By state, not by calling __init__ again: the subclasses take other arguments than
        # the message Exception keeps in ``args``.
        return (_rebuild_error, (type(self), self.args, dict(self.__dict__)))


def _rebuild_error(
    cls: type[HeliosError], args: tuple[object, ...], state: dict[str, object]
) -> HeliosError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidInputError(HeliosError, ValueError):
    """Input refused before any request was sent: a field that breaks its rule, a missing
    key, an unknown region, or a bad argument such as ``concurrency``. See
    https://helios-async.readthedocs.io/helios/#request-fields

    Attributes:
        field: the argument or wire field at fault (``"user.user_label"``, ``"recording"``).
        rule: the rule it broke, in a few words.
    """

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class RecordingError(InvalidInputError):
    """The recording cannot be sent: missing, empty, unsupported format or length. See
    https://helios-async.readthedocs.io/helios/#recording-limits

    Attributes:
        error_code: the error code the API would have ended the run with, where one fits
            (``ERR_RECORDING_TOO_SHORT``, ``ERR_RECORDING_TOO_LONG``), else None.
    """

    def __init__(self, field: str, rule: str, *, error_code: ErrorCode | None = None) -> None:
        super().__init__(field, rule)
        self.error_code = error_code


class ClientClosedError(HeliosError, RuntimeError):
    """The :class:`~helios_async.HeliosClient` was used outside ``async with`` or after close,
    or the session it borrowed was closed by its owner. Nothing was sent.

    Closing a client wakes every request waiting out a 429 cool-down with this error, and a
    fan-out (``run_wellness_checks``) raises it once and stops, instead of failing each job.
    """


class WrongEventLoopError(ClientClosedError):
    """The client was used from an event loop other than the one it first sent from (two
    ``asyncio.run`` calls, say). An aiohttp session belongs to one loop; make one client per
    loop. When the loop a client's own session was opened in ends, that session is closed
    with it, so nothing is left unclosed. Nothing was sent."""


class TransportError(HeliosError):
    """No usable HTTP response arrived: the connection failed, reset or the body was cut short.

    Retried for idempotent requests; for the create POST only a :class:`ConnectError` is,
    anything else becomes :class:`OutcomeUnknownError`.

    Attributes:
        method: the request's HTTP method.
        url: the request's URL (presigned signatures redacted).
    """

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(f"{message} ({method} {url})")
        self.method = method
        self.url = url


class ConnectError(TransportError):
    """The connection could not be opened, so the server never saw the request: safe to
    retry, even a create."""


class PoolTimeoutError(ConnectError, TimeoutError):
    """No connection of the client's pool became free within ``Timeouts.pool`` seconds: the
    client is running more requests at once than ``connection_limit`` allows. Nothing was
    sent, so it is never an unknown outcome; it is not retried (the wait had its budget)."""


class RequestTimeoutError(TransportError, TimeoutError):
    """A time limit of :class:`~helios_async.Timeouts` (seconds) fired after the request
    had a connection; the server may have acted on it (see
    https://helios-async.readthedocs.io/helios/#retries-and-idempotency).

    Attributes:
        limit: which one: ``"read"`` (a wait for response bytes), ``"response"`` (an API
            call's whole answer), ``"sending"`` (an upload's body, by its size),
            ``"answer"`` (storage's answer after the last byte) or ``"total"`` (an upload
            attempt in all).
    """

    def __init__(self, message: str, *, method: str, url: str, limit: str = "read") -> None:
        super().__init__(message, method=method, url=url)
        self.limit = limit


class ResponseTooLargeError(TransportError):
    """A response body was larger than the client's ``max_response_bytes``; reading stopped
    there. Not retried: the next answer would be as large.

    Attributes:
        limit: the cap, in bytes.
    """

    def __init__(self, message: str, *, method: str, url: str, limit: int) -> None:
        super().__init__(message, method=method, url=url)
        self.limit = limit


class DecodeError(HeliosError):
    """A successful response whose body is not the JSON the API documents.

    Missing or null optional fields and unknown extra fields are not errors (see
    https://helios-async.readthedocs.io/helios/#missing-and-unknown-fields); a wrong
    type or a missing required field is, and is not retried. A body that is not JSON at all
    (``malformed``) was garbled on the way, and an idempotent GET is retried.

    Attributes:
        body: the raw response body (bytes), for diagnosis.
        malformed: True when the body is not JSON at all.
    """

    def __init__(self, message: str, *, body: bytes, malformed: bool = False) -> None:
        super().__init__(f"{message}; {_shown_body(body)}" if body else message)
        self.body = body
        self.malformed = malformed


class APIError(HeliosError):
    """The API answered with a non-2xx status. See https://helios-async.readthedocs.io/helios/#status-mapping

    Attributes:
        status: the HTTP status code.
        body: the raw response body (bytes); never parsed to decide anything.
        request_id: the response's request id header, where it had one; quote it to support.
        detail: the body's FastAPI-style ``detail`` as one line of text, where the protocol
            found one, else ''.
        method: the request's HTTP method, where known, else ''.
        url: the request's URL, where known, else ''.
    """

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        *,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
        detail: str = "",
    ) -> None:
        self.status = status
        self.body = body
        self.request_id = request_id
        self.method = method
        self.url = url
        self.detail = detail
        message = f"HTTP {status}"
        if method:
            message += f" from {method} {url}"
        if self.detail:
            message += f": {self.detail}"
        if request_id:
            message += f" (request id {request_id})"
        super().__init__(message)

    @property
    def is_transient(self) -> bool:
        """Whether retrying the same request later may succeed."""
        return False


class BadRequestError(APIError):
    """400, 410 or 422: the API judged the request malformed. Never retried."""


class AuthenticationError(APIError):
    """401 or 403: the API key is missing, invalid or not allowed. Never retried. See
    https://helios-async.readthedocs.io/helios/#missing-or-wrong-key
    """


class NotFoundError(APIError):
    """404: the model run is unknown, or was deleted after ``deleteData``. Never retried.
    See https://helios-async.readthedocs.io/helios/#deleting-data
    """


class RedirectError(APIError):
    """3xx: the API pointed elsewhere. Redirects are never followed, so the key never travels
    to another host; ``location`` (its query redacted) says where it pointed, or ''
    without a ``Location`` header. Never retried.

    Attributes:
        location: the ``Location`` header, query string redacted, or ''.
    """

    def __init__(
        self, status: int, body: bytes = b"", *, location: str = "", **kwargs: Any
    ) -> None:
        super().__init__(status, body, **kwargs)
        self.location = location
        self.args = (f"{self.args[0]}; redirect to {location or '(no Location)'} not followed",)


class TransientAPIError(APIError):
    """408, 429, 500, 502, 503 or 504: a failure that may pass.

    Retried for idempotent requests (GET, the upload PUT); for the create POST only a 429
    is, anything else becomes :class:`OutcomeUnknownError`. Raised once the retries are
    used up.

    Attributes:
        retry_after: seconds the server asked us to wait (from ``Retry-After``), or None.

    See https://helios-async.readthedocs.io/helios/#retries-and-idempotency
    """

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        *,
        retry_after: float | None = None,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(status, body, request_id=request_id, method=method, url=url, detail=detail)
        self.retry_after = retry_after
        if retry_after is not None:
            self.args = (f"{self.args[0]}; retry after {retry_after:g} s",)

    @property
    def is_transient(self) -> bool:
        """Always True: retrying the same request later may succeed."""
        return True


class RateLimitError(TransientAPIError):
    """429: too many requests; ``retry_after`` says how long the server asked us to wait.

    Retried, the create POST included (a 429 proves it was not acted on), after
    ``Retry-After`` seconds when at most ``RetryPolicy.max_retry_after``; a longer one is
    raised at once. It also pauses every request of the client until it has passed.
    """


class UploadError(HeliosError):
    """Object storage refused the upload PUT to the presigned URL. See
    https://helios-async.readthedocs.io/helios/#upload-rules

    Attributes:
        status: the storage host's HTTP status.
        body: its raw body (object stores answer with XML).
        model_run_id: the run the upload was for, where known.
        retry_after: seconds storage asked us to wait (``Retry-After``), or None.
    """

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        *,
        model_run_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        what = f"model run {model_run_id}" if model_run_id else "the recording"
        super().__init__(
            f"storage refused the upload of {what}: HTTP {status}; {_shown_body(body)}"
        )
        self.status = status
        self.body = body
        self.model_run_id = model_run_id
        self.retry_after = retry_after

    @property
    def is_transient(self) -> bool:
        """Whether storage may accept the same PUT later (408, 429, 5xx)."""
        return self.status in TRANSIENT_STATUSES


class UploadURLExpiredError(UploadError):
    """The presigned URL expired or was refused (403); the remedy is a new run. See
    https://helios-async.readthedocs.io/helios/#upload-the-recording
    """


class UploadRedirectError(UploadError):
    """Storage answered the PUT with a 3xx. It is never followed (the recording goes only
    where the API said); ``location`` (its query redacted) says where it pointed.

    Attributes:
        location: the ``Location`` header, query string redacted, or ''.
    """

    def __init__(
        self, status: int, body: bytes = b"", *, location: str = "", **kwargs: Any
    ) -> None:
        super().__init__(status, body, **kwargs)
        self.location = location
        self.args = (f"{self.args[0]}; redirect to {location or '(no Location)'} not followed",)


class InsecureUploadError(HeliosError):
    """The API, reached over https, handed out an ``http`` upload URL: the recording would
    travel in cleartext, so it was not sent. Pass ``HeliosClient(allow_http_upload=True)``
    to allow it; a loopback upload host (the sandbox, a local proxy) is always allowed.

    Attributes:
        url: the upload URL, its query (the signature) redacted.
        model_run_id: the run it was for, where known; it stays ``CREATED``, never billed.
    """

    def __init__(self, url: str, *, model_run_id: str | None = None) -> None:
        what = f"model run {model_run_id}" if model_run_id else "the recording"
        super().__init__(
            f"refused to upload {what} in cleartext to {url}: the API is https but the upload "
            "URL is http (HeliosClient(allow_http_upload=True) allows it)"
        )
        self.url = url
        self.model_run_id = model_run_id


class HookError(HeliosError):
    """A hook (:class:`~helios_async.Hooks`) raised. Its exception is ``__cause__``. The
    request itself completed or failed first, and what it made is kept: a create whose
    ``on_response`` hook raised still made its run, on ``model_run_id`` (and
    ``run_wellness_check`` still calls ``on_created`` with it). Never retried.

    Attributes:
        hook: which hook raised (``"on_response"``).
        operation: the call it raised in (``"create_model_run"``).
        result: what the call returned before the hook raised (a ``ModelRunCreated``, a
            ``ModelRun``...), or None.
        model_run_id: the id of the run ``result`` is or made, or None.
    """

    def __init__(
        self, hook: str, operation: str, cause: BaseException, *, result: object = None
    ) -> None:
        run_id = getattr(result, "id", None)
        self.hook = hook
        self.operation = operation
        self.result = result
        self.model_run_id: str | None = run_id if isinstance(run_id, str) else None
        made = f"; model run {self.model_run_id} exists" if self.model_run_id else ""
        super().__init__(
            f"the {hook} hook raised during {operation}: {type(cause).__name__}: {cause}{made}"
        )


class OutcomeUnknownError(HeliosError):
    """A create request failed in a way that does not prove the run was not made.

    The POST is not idempotent, so it was not retried: a timeout, a reset, a 408 or 5xx or a
    garbled 2xx body after sending it all end here. A run may exist in ``CREATED``; it
    costs nothing until a recording is uploaded. The cause is chained (``__cause__``).

    Attributes:
        operation: what was attempted (``"create_model_run"``).
        user_label: the label the run would carry, to find it with support. It is not in
            the message: labels stay out of messages, logs and spans (privacy by default).

    See https://helios-async.readthedocs.io/helios/#retries-and-idempotency
    """

    def __init__(self, operation: str, *, user_label: str, cause: BaseException) -> None:
        HeliosError.__init__(  # explicit: CreateDeadlineExceededError inherits from both
            self,
            f"{operation} failed and may or may not have created a model run (its user label "
            f"is on .user_label); it was not retried to avoid a duplicate run: {cause}",
        )
        self.operation = operation
        self.user_label = user_label


class ModelRunFailedError(HeliosError):
    """The model run ended ``COMPLETE_ERROR``. See https://helios-async.readthedocs.io/helios/#error-codes

    Attributes:
        model_run_id: the run's id.
        error_code: the machine-readable code (``ErrorCode.ERR_RECORDING_TOO_SHORT``).
        error_reason: the human-readable reason, for debugging, not for end users.
        run: the finished :class:`~helios_async.ModelRun`.
    """

    def __init__(self, run: ModelRun) -> None:
        code = run.error_code.value if run.error_code is not None else "no error code"
        super().__init__(f"model run {run.id} failed with {code}: {run.error_reason or ''}".strip())
        self.run = run
        self.model_run_id = run.id
        self.error_code: ErrorCode | None = run.error_code
        self.error_reason = run.error_reason


class DeadlineExceededError(HeliosError, TimeoutError):
    """A wait, or a whole wellness check, ran past its deadline.

    Raised by ``wait_for_model_run`` (``phase == "poll"``) and ``run_wellness_check``. If
    the time ran out while the create was in flight, a run may exist all the same.

    Attributes:
        phase: where the time ran out: ``"create"``, ``"upload"`` or ``"poll"``.
        timeout: the budget in seconds.
        phase_seconds: seconds spent in each phase, in order.
        model_run_id: the run's id where one was created, to resume with ``wait_for_model_run``.
        last_run: the last :class:`~helios_async.ModelRun` seen while polling, or None.
    """

    def __init__(
        self,
        phase: str,
        *,
        timeout: float,
        phase_seconds: Mapping[str, float] | None = None,
        model_run_id: str | None = None,
        last_run: ModelRun | None = None,
    ) -> None:
        self.phase = phase
        self.timeout = timeout
        self.phase_seconds = dict(phase_seconds or {})
        self.model_run_id = model_run_id
        self.last_run = last_run
        spent = ", ".join(f"{name} {secs:.2f} s" for name, secs in self.phase_seconds.items())
        status = (
            f"; last status {last_run.status.value if last_run.status else 'none'}"
            if last_run is not None
            else ""
        )
        run = f" for model run {model_run_id}" if model_run_id else ""
        HeliosError.__init__(  # explicit: CreateDeadlineExceededError inherits from both
            self,
            f"deadline of {timeout:g} s exceeded in the {phase} phase{run}"
            + (f" ({spent})" if spent else "")
            + status,
        )


class CreateDeadlineExceededError(DeadlineExceededError, OutcomeUnknownError):
    """The deadline passed while a create POST was in flight.

    Both a :class:`DeadlineExceededError` (``phase == "create"``) and an
    :class:`OutcomeUnknownError`: the request was sent, so a run may exist in ``CREATED``.
    """

    def __init__(
        self, *, timeout: float, phase_seconds: Mapping[str, float], user_label: str
    ) -> None:
        DeadlineExceededError.__init__(self, "create", timeout=timeout, phase_seconds=phase_seconds)
        self.operation = "create_model_run"
        self.user_label = user_label
        self.args = (
            f"{self.args[0]}; the create request was sent, so a model run for this "
            "user label (.user_label) may or may not exist",
        )


def _shown_body(body: bytes) -> str:
    """What a message shows of a response body: never personal data or a signature.

    A JSON body is the API's, and holds user labels and transcripts: only its size is
    shown. An XML body is object storage's error document, whose ``<Code>`` and
    ``<Message>`` are shown and nothing else (S3 echoes the signature and credential in
    it). Anything else (a gateway's HTML page) is quoted in part.
    """
    text = body[:_BODY_EXCERPT].decode("utf-8", "replace")
    start = text.lstrip()[:1]
    if start in ("{", "["):
        return f"a JSON body of {len(body)} bytes (not shown: it may hold personal data)"
    if start == "<" and b"<Error>" in body:
        parts = re.findall(r"<(Code|Message)>([^<]{0,200})</\1>", body.decode("utf-8", "replace"))
        return "storage says " + (" ".join(f"{v.strip()}" for _k, v in parts) or "nothing")
    return f"body starts {text + ('…' if len(body) > _BODY_EXCERPT else '')!r}"


class JournalConflictError(HeliosError):
    """A journal write was refused: another delivery of this job claimed its key since.

    The job was taken over (typically: this worker was presumed dead and its job
    redelivered). The delivery that gets this must stop working on the job at once and
    write nothing more; the new owner carries it on. Raised by the journal stores
    (``FileJournal``, ``RedisJournal``) and ``run_journaled_check``.

    Attributes:
        key: the job's key.
    """

    def __init__(self, key: str) -> None:
        super().__init__(f"journal key {key!r} is owned by a newer delivery; this one stops")
        self.key = key
