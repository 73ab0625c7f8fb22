"""The errors of the tree (``_errors``) about one HTTP exchange: no usable response, a body
that is not the contract's, the API's refusals, storage's refusals of an upload.

Which status means which of these is the protocol's to judge (``_decoding``); these only
hold the facts and build their message, whose body excerpt (:func:`_shown_body`) never shows
personal data or a signature.
"""

from __future__ import annotations

import re
from typing import Any

from ._error_base import HeliosError

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConnectError",
    "DecodeError",
    "InsecureUploadError",
    "NotFoundError",
    "PoolTimeoutError",
    "RateLimitError",
    "RedirectError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "TransientAPIError",
    "TransportError",
    "UploadError",
    "UploadRedirectError",
    "UploadURLExpiredError",
]

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})  # docs/helios.md#status-mapping
_BODY_EXCERPT = 300


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
