"""The sans-I/O core: requests to send and what responses mean, as pure functions.

Nothing here touches the network. :class:`Endpoints` builds :class:`ApiRequest` values;
:func:`decode` turns an :class:`ApiResponse` into a model or the error the status means (D2).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import json
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import attrs
from yarl import URL

from ._converter import structure_json, unstructure
from ._errors import (
    DecodeError,
    InvalidInputError,
    UploadError,
    UploadURLExpiredError,
    error_for_status,
    request_id,
)
from ._models import ActivityRunCreated, ModelRunCreated, ModelRunRequest

T = TypeVar("T")

API_KEY_HEADER = "x-api-key"  # §1.2
JSON = "application/json"
# D4: the activity link's field name is undocumented; take the first of these present.
ACTIVITY_LINK_FIELDS = ("activityLink", "activityUrl", "link", "url")


@attrs.frozen(kw_only=True)
class ApiRequest:
    """One HTTP request to the API, ready to send.

    ``idempotent`` says whether sending it twice is harmless (D13). The headers carry the key,
    so they are left out of the repr.
    """

    operation: str
    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes | None = attrs.field(default=None, repr=False)
    idempotent: bool = True


@attrs.frozen(kw_only=True)
class ApiResponse:
    """A whole HTTP response: status, case-insensitive headers and the full body (bytes)."""

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Endpoints:
    """Builds the API's requests for one base URL and key (helios-api.md §2.1)."""

    base_url: str
    api_key: str = attrs.field(repr=False)
    user_agent: str
    legacy_get_path: bool = False  # D1: GET /v1/models/{id} instead of .../mental-wellness/{id}

    # Built once: every request of a client carries the same ones (read-only views).
    _plain_headers: Mapping[str, str] = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(
            lambda self: MappingProxyType(
                {API_KEY_HEADER: self.api_key, "Accept": JSON, "User-Agent": self.user_agent}
            ),
            takes_self=True,
        ),
    )
    _json_headers: Mapping[str, str] = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(
            lambda self: MappingProxyType({**self._plain_headers, "Content-Type": JSON}),
            takes_self=True,
        ),
    )

    def _headers(self, *, with_body: bool) -> Mapping[str, str]:
        return self._json_headers if with_body else self._plain_headers

    def get_account(self) -> ApiRequest:
        """E1 ``GET /v1/account`` (§2.2)."""
        return ApiRequest(
            operation="get_account",
            method="GET",
            url=f"{self.base_url}/v1/account",
            headers=self._headers(with_body=False),
        )

    def create_model_run(self, request: ModelRunRequest) -> ApiRequest:
        """E2 ``POST /v1/models/mental-wellness`` (§2.3); not idempotent (D13)."""
        return self._create("create_model_run", "/v1/models/mental-wellness", request)

    def create_activity_run(self, request: ModelRunRequest) -> ApiRequest:
        """E3 ``POST /v1/models/mental-wellness-activity`` (§2.4); not idempotent (D13)."""
        return self._create("create_activity_run", "/v1/models/mental-wellness-activity", request)

    def _create(self, operation: str, path: str, request: ModelRunRequest) -> ApiRequest:
        body = json.dumps(unstructure(request), separators=(",", ":")).encode()
        return ApiRequest(
            operation=operation,
            method="POST",
            url=f"{self.base_url}{path}",
            headers=self._headers(with_body=True),
            body=body,
            idempotent=False,
        )

    def get_model_run(self, model_run_id: str) -> ApiRequest:
        """E4 ``GET /v1/models/mental-wellness/{id}`` (§2.5), or E5 with the legacy path (D1).

        Raises:
            InvalidInputError: the id is not a UUID (the path parameter's format, §2.5).
        """
        run_id = check_model_run_id(model_run_id)
        prefix = "/v1/models/" if self.legacy_get_path else "/v1/models/mental-wellness/"
        return ApiRequest(
            operation="get_model_run",
            method="GET",
            url=f"{self.base_url}{prefix}{run_id}",
            headers=self._headers(with_body=False),
        )


def check_model_run_id(model_run_id: object) -> str:
    """The id in its canonical spelling, if it is a UUID string (§2.5: ``format: uuid``).

    Raises:
        InvalidInputError: not a string, or not a UUID.
    """
    if not isinstance(model_run_id, str):
        raise InvalidInputError(
            "model_run_id", f"must be a string, not {type(model_run_id).__name__}"
        )
    try:
        return _canonical_uuid(model_run_id)
    except ValueError:
        raise InvalidInputError(
            "model_run_id",
            f"must be a UUID like 'ddebd75b-99b3-42b4-ac65-5ce852c688e9'; got {model_run_id!r}",
        ) from None


@functools.lru_cache(maxsize=4096)  # a run is polled many times: parse its id once
def _canonical_uuid(text: str) -> str:
    # The canonical spelling, so braces or a urn: prefix never reach the raw path.
    return str(uuid.UUID(text))


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date (RFC 9110).

    Returns None for a missing or unreadable value; a date in the past gives 0.0.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is unreadable
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - (now or dt.datetime.now(dt.UTC))).total_seconds(), 0.0)


def redact_url(url: str) -> str:
    """The URL without its query string, where presigned URLs keep their signature."""
    parsed = URL(url, encoded=True)
    return str(parsed.with_query(None)) + ("?<redacted>" if parsed.raw_query_string else "")


def raise_for_status(response: ApiResponse, request: ApiRequest) -> None:
    """Raise the error a non-2xx status means (D2); do nothing on 2xx."""
    if 200 <= response.status < 300:
        return
    body = response.body
    key = request.headers.get(API_KEY_HEADER, "").encode()
    if key and key in body:  # a server that echoes the key must not put it in our errors
        body = body.replace(key, b"<redacted>")
    raise error_for_status(
        response.status,
        body,
        response.headers,
        method=request.method,
        url=redact_url(request.url),
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def decode(response: ApiResponse, request: ApiRequest, cls: type[T]) -> T:
    """The model a 2xx response carries, or the error its status means.

    Raises:
        APIError: a non-2xx status (its subclass per D2).
        DecodeError: a 2xx body that is not the contract's JSON.
    """
    raise_for_status(response, request)
    return structure_json(response.body, cls, request_id=request_id(response.headers))


def decode_created(response: ApiResponse, request: ApiRequest) -> ModelRunCreated:
    """The E2 answer (§2.3); an id that is not a UUID could never be polled (§2.5).

    Raises:
        APIError: a non-2xx status. DecodeError: the body does not fit, or the id is no UUID.
    """
    created = decode(response, request, ModelRunCreated)
    _check_created_id(created.id, response.body)
    return created


def _check_created_id(run_id: str, body: bytes) -> None:
    try:
        check_model_run_id(run_id)
    except InvalidInputError:
        raise DecodeError(f"the new run's id {run_id!r} is not a UUID", body=body) from None


def decode_activity_run(response: ApiResponse, request: ApiRequest) -> ActivityRunCreated:
    """The E3 answer, taking the link from whichever field D4 allows."""
    raise_for_status(response, request)
    payload = _json_object(response.body)
    link = next((payload[k] for k in ACTIVITY_LINK_FIELDS if isinstance(payload.get(k), str)), None)
    if not isinstance(payload.get("id"), str) or link is None:
        raise DecodeError("the activity response has no id or no activity link", body=response.body)
    _check_created_id(payload["id"], response.body)
    return ActivityRunCreated(
        id=payload["id"], activity_link=link, raw=payload, request_id=request_id(response.headers)
    )


def check_upload_response(
    status: int, body: bytes, headers: Mapping[str, str], *, model_run_id: str | None
) -> None:
    """Object storage's answer to the PUT (§4, D14, D16): 2xx is success; 403 means the URL
    expired or was refused (new run needed); other refusals are :class:`UploadError`.

    Transient statuses (408, 429, 5xx) are raised as :class:`UploadError` too; its
    ``is_transient`` tells the retry policy to try again.
    """
    if 200 <= status < 300:
        return
    if status == 403:
        raise UploadURLExpiredError(status, body, model_run_id=model_run_id)
    retry_after = parse_retry_after(headers.get("Retry-After"))
    raise UploadError(status, body, model_run_id=model_run_id, retry_after=retry_after)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"the response is not JSON ({exc})", body=body, malformed=True) from exc
    if not isinstance(payload, dict):
        raise DecodeError("the response is not a JSON object", body=body)
    return payload
