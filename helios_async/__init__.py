"""helios_async: the asyncio-native client for thymia's Helios voice-biomarker API.

Everything public is re-exported here, and its classes report ``helios_async`` as their
module (``_naming``); ``helios_async.testing`` holds the local sandbox.
``HELIOS_LOG=debug`` (or ``info``) in the environment logs to stderr from import on.

A public name's module is imported the first time the name is read (``from helios_async
import HeliosClient`` imports the client and what it needs, nothing else): ``_HOMES`` says
where each name lives, and the ``TYPE_CHECKING`` imports below say the same to type checkers
and the reference docs (a test keeps the two, and ``__all__``, in step).
"""

import importlib as _importlib
import sys as _sys
from typing import TYPE_CHECKING

from ._logs import configure_from_env as _configure_logging
from ._version import __version__

if TYPE_CHECKING:
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

# Where each public name (but ``__version__``) lives: the private module that defines it.
_HOMES: dict[str, tuple[str, ...]] = {
    "_audio": ("AudioFormat",),
    "_client": ("HeliosClient",),
    "_config": ("Timeouts",),
    "_errors": (
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
    ),
    "_fanout": ("WellnessChecks", "WellnessJob", "WellnessOutcome"),
    "_hooks": ("Hooks", "RequestEvent", "ResponseEvent", "RetryEvent"),
    "_journal": ("JobState", "Journal", "JournalEntry"),
    "_journal_check": ("run_journaled_check",),
    "_journal_file": ("FileJournal",),
    "_models": (
        "Account",
        "ActivityRunCreated",
        "BirthSex",
        "CreateFields",
        "ErrorCode",
        "ModelRun",
        "ModelRunCreated",
        "ModelRunRequest",
        "ModelRunResults",
        "ModelRunStatus",
        "Section",
        "Tag",
        "TagsInput",
        "User",
    ),
    "_polling": ("PollPolicy",),
    "_protocol": ("ApiRequest", "ApiResponse"),
    "_recording": ("RecordingBody", "RecordingInfo", "RecordingSource", "check_recording"),
    "_retry": ("RetryPolicy", "Sleep"),
    "_telemetry": ("Telemetry",),
    "_transport": ("AiohttpTransport", "Transport"),
}

_UNSET = object()
_HOME_OF: dict[str, str] = {name: home for home, names in _HOMES.items() for name in names}

if not TYPE_CHECKING:  # for type checkers every name above is already bound

    def __getattr__(name: str) -> object:
        """Import a public name's module the first time the name is read."""
        home = _HOME_OF.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        module = _importlib.import_module(f"{__name__}.{home}")
        _bind_loaded()
        value = globals().get(name, _UNSET)
        return getattr(module, name) if value is _UNSET else value  # unbound while importing


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _bind_loaded() -> None:
    """Bind here every public name whose module has loaded, and adopt its classes
    (``_naming``): a module one name pulled in brings its other names along."""
    from . import _naming

    namespace = globals()
    for home, names in _HOMES.items():
        module = _sys.modules.get(f"{__name__}.{home}")
        if module is None or names[0] in namespace:
            continue
        found = {name: getattr(module, name, _UNSET) for name in names}
        if any(value is _UNSET for value in found.values()):
            continue  # still being imported: bound on a later read
        _naming.adopt(__name__, found, names, public=_public_name)
        namespace.update(found)


def _public_name(name: str) -> object:
    """A public name's object, importing its module if need be; ``KeyError`` if not public
    (``_naming`` resolves a hint a module imported only for type checking with this)."""
    home = _HOME_OF.get(name)
    if home is None:
        raise KeyError(name)
    return getattr(_importlib.import_module(f"{__name__}.{home}"), name)


_configure_logging()
