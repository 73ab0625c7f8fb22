"""What the client's spans and metrics say: their attribute names, after OpenTelemetry's HTTP
client conventions, and the pure functions that give the values (``url.template``,
``error.type``, a check's outcome, an attempt's span name and attributes).

Nothing here imports OpenTelemetry; ``_tracing`` and ``_metrics`` record what it computes.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from yarl import URL

from . import _errors as errors
from ._redaction import full_url, storage_template

__all__ = [
    "ERROR_TYPE",
    "HTTP_METHOD",
    "HTTP_STATUS",
    "KNOWN_METHODS",
    "OPERATION",
    "OUTCOME",
    "PHASE",
    "POLLS",
    "POLL_NUMBER",
    "RECORDING_DURATION",
    "RECORDING_FORMAT",
    "RECORDING_SIZE",
    "RESEND_COUNT",
    "RUN_ERROR_CODE",
    "RUN_ID",
    "RUN_STATUS",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "URL_FULL",
    "URL_TEMPLATE",
    "USER_LABEL",
    "described",
    "error_type",
    "outcome",
    "url_template_of",
]

# Semantic-convention attributes (stable HTTP client conventions; url.template in development).
HTTP_METHOD: Final = "http.request.method"
HTTP_STATUS: Final = "http.response.status_code"
RESEND_COUNT: Final = "http.request.resend_count"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
URL_FULL: Final = "url.full"
URL_TEMPLATE: Final = "url.template"
ERROR_TYPE: Final = "error.type"
# Ours.
OPERATION: Final = "helios.operation"
RUN_ID: Final = "helios.model_run.id"
RUN_STATUS: Final = "helios.model_run.status"
RUN_ERROR_CODE: Final = "helios.model_run.error_code"
RECORDING_FORMAT: Final = "helios.recording.format"
RECORDING_SIZE: Final = "helios.recording.size"
RECORDING_DURATION: Final = "helios.recording.duration"
OUTCOME: Final = "helios.check.outcome"
PHASE: Final = "helios.check.phase"
POLLS: Final = "helios.check.polls"
POLL_NUMBER: Final = "helios.poll.number"
USER_LABEL: Final = "helios.user.label"

KNOWN_METHODS: Final = frozenset(
    ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")
)


def url_template_of(operation: str, url: str) -> str:
    """``url.template`` of ``operation`` at ``url``: the storage template of an upload, a
    run's path with ``{model_run_id}``, any other API path as it is (it holds no id)."""
    if operation == "upload_recording":
        return storage_template(url)
    path = URL(url, encoded=True).raw_path
    if operation == "get_model_run":
        return path.rpartition("/")[0] + "/{model_run_id}"
    return path


def error_type(exc: BaseException) -> str:
    """``error.type`` of an exception: its public class name (``helios_async.ConnectError``,
    ``asyncio.CancelledError``, ``builtins.OSError``)."""
    cls = type(exc)
    module = cls.__module__
    if module.startswith("helios_async.") or module == "asyncio.exceptions":
        module = module.partition(".")[0]
    return f"{module}.{cls.__qualname__}"


def outcome(exc: BaseException | None) -> str:
    """How a check ended: ``complete_ok``, ``complete_error``, ``deadline_exceeded``,
    ``outcome_unknown``, ``rejected`` (refused by a local check, the API or storage),
    ``cancelled``, or ``failed`` (the network or the API failed, after retries)."""
    if exc is None:
        return "complete_ok"
    if isinstance(exc, errors.ModelRunFailedError):
        return "complete_error"
    if isinstance(exc, errors.DeadlineExceededError):
        return "deadline_exceeded"
    if isinstance(exc, errors.OutcomeUnknownError):
        return "outcome_unknown"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    if isinstance(exc, errors.InvalidInputError):
        return "rejected"
    if isinstance(exc, errors.APIError) and not isinstance(exc, errors.TransientAPIError):
        return "rejected"
    if isinstance(exc, errors.UploadError) and not exc.is_transient:
        return "rejected"
    return "failed"


@functools.lru_cache(maxsize=1024)
def described(
    operation: str, method: str, url: str
) -> tuple[str, Mapping[str, Any], Mapping[str, Any]]:
    """An attempt's span name, its metric's attributes (low-cardinality) and its span's
    (those, ``url.full`` and the operation), read-only."""
    parsed = URL(url, encoded=True)
    template = url_template_of(operation, url)
    known = method if method in KNOWN_METHODS else "_OTHER"
    metric = {
        HTTP_METHOD: known,
        SERVER_ADDRESS: parsed.raw_host or "",
        SERVER_PORT: parsed.port or 0,
        URL_TEMPLATE: template,
    }
    span = {**metric, URL_FULL: full_url(url), OPERATION: operation}
    name = f"{known if known != '_OTHER' else 'HTTP'} {template}"
    return name, MappingProxyType(metric), MappingProxyType(span)
