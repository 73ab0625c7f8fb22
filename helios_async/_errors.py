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

# The tree is written in four modules, re-exported here: the root and its pickling
# (_error_base), what is refused before sending (_local_errors), what one HTTP exchange ends
# in (_http_errors) and what a call made or did not (_outcome_errors).
from ._error_base import HeliosError
from ._http_errors import TRANSIENT_STATUSES as TRANSIENT_STATUSES  # for the protocol
from ._http_errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConnectError,
    DecodeError,
    InsecureUploadError,
    NotFoundError,
    PoolTimeoutError,
    RateLimitError,
    RedirectError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TransientAPIError,
    TransportError,
    UploadError,
    UploadRedirectError,
    UploadURLExpiredError,
)
from ._local_errors import (
    ClientClosedError,
    InvalidInputError,
    RecordingError,
    WrongEventLoopError,
)
from ._outcome_errors import (
    CreateDeadlineExceededError,
    DeadlineExceededError,
    HookError,
    JournalConflictError,
    ModelRunFailedError,
    OutcomeUnknownError,
)

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
