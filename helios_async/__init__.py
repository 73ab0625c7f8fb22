"""helios_async: the asyncio-native client for thymia's Helios voice-biomarker API.

Everything public is re-exported here, and its classes report ``helios_async`` as their
module (``_naming``); ``helios_async.testing`` holds the local sandbox.
``HELIOS_LOG=debug`` (or ``info``) in the environment logs to stderr from import on.
"""

from . import _naming
from ._audio import AudioFormat
from ._client import HeliosClient
from ._config import Timeouts
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConnectError,
    CreateDeadlineExceededError,
    DeadlineExceededError,
    DecodeError,
    HeliosError,
    HookError,
    InsecureUploadError,
    InvalidInputError,
    JournalConflictError,
    ModelRunFailedError,
    NotFoundError,
    OutcomeUnknownError,
    PoolTimeoutError,
    RateLimitError,
    RecordingError,
    RedirectError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TransientAPIError,
    TransportError,
    UploadError,
    UploadRedirectError,
    UploadURLExpiredError,
    WrongEventLoopError,
)
from ._fanout import WellnessChecks, WellnessJob, WellnessOutcome
from ._hooks import Hooks, RequestEvent, ResponseEvent, RetryEvent
from ._journal import JobState, Journal, JournalEntry
from ._journal_check import run_journaled_check
from ._journal_file import FileJournal
from ._models import (
    Account,
    ActivityRunCreated,
    BirthSex,
    CreateFields,
    ErrorCode,
    ModelRun,
    ModelRunCreated,
    ModelRunRequest,
    ModelRunResults,
    ModelRunStatus,
    Section,
    Tag,
    TagsInput,
    User,
)
from ._polling import PollPolicy
from ._protocol import ApiRequest, ApiResponse
from ._recording import RecordingBody, RecordingInfo, RecordingSource, check_recording
from ._retry import RetryPolicy, Sleep
from ._telemetry import Telemetry
from ._transport import AiohttpTransport, Transport
from ._version import __version__

__all__ = [
    "APIError",
    "Account",
    "ActivityRunCreated",
    "AiohttpTransport",
    "ApiRequest",
    "ApiResponse",
    "AudioFormat",
    "AuthenticationError",
    "BadRequestError",
    "BirthSex",
    "ClientClosedError",
    "ConnectError",
    "CreateDeadlineExceededError",
    "CreateFields",
    "DeadlineExceededError",
    "DecodeError",
    "ErrorCode",
    "FileJournal",
    "HeliosClient",
    "HeliosError",
    "HookError",
    "Hooks",
    "InsecureUploadError",
    "InvalidInputError",
    "JobState",
    "Journal",
    "JournalConflictError",
    "JournalEntry",
    "ModelRun",
    "ModelRunCreated",
    "ModelRunFailedError",
    "ModelRunRequest",
    "ModelRunResults",
    "ModelRunStatus",
    "NotFoundError",
    "OutcomeUnknownError",
    "PollPolicy",
    "PoolTimeoutError",
    "RateLimitError",
    "RecordingBody",
    "RecordingError",
    "RecordingInfo",
    "RecordingSource",
    "RedirectError",
    "RequestEvent",
    "RequestTimeoutError",
    "ResponseEvent",
    "ResponseTooLargeError",
    "RetryEvent",
    "RetryPolicy",
    "Section",
    "Sleep",
    "Tag",
    "TagsInput",
    "Telemetry",
    "Timeouts",
    "TransientAPIError",
    "Transport",
    "TransportError",
    "UploadError",
    "UploadRedirectError",
    "UploadURLExpiredError",
    "User",
    "WellnessChecks",
    "WellnessJob",
    "WellnessOutcome",
    "WrongEventLoopError",
    "__version__",
    "check_recording",
    "run_journaled_check",
]

from ._logs import configure_from_env as _configure_logging

_naming.adopt(__name__, globals(), __all__)
_configure_logging()
