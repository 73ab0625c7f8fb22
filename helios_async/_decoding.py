"""The sans-I/O core, second half: what a response means, as pure functions.

:func:`decode` and its siblings turn an :class:`~._protocol.ApiResponse` into a model, or
raise the error its status means. :func:`error_for_status` is the one place statuses map onto
the error tree (docs/helios.md#status-mapping); request ids and error bodies are read here too.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

from ._converter import structure_json
from ._errors import (
    TRANSIENT_STATUSES,
    APIError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    RedirectError,
    TransientAPIError,
    UploadError,
    UploadRedirectError,
    UploadURLExpiredError,
)
from ._models import ActivityRunCreated, ModelRunCreated
from ._protocol import API_KEY_HEADER, ApiRequest, ApiResponse, check_model_run_id, redact_url
from ._redaction import PersonalBytes, drop_inner_frames, personal_bytes

T = TypeVar("T")

# The activity link's field name is undocumented (docs/helios.md#activity-link): take the
# first of these present.
ACTIVITY_LINK_FIELDS = ("activityLink", "activityUrl", "link", "url")
# Headers that carry a request id, most specific first; the sandbox sends x-request-id.
REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "x-amz-request-id", "apigw-requestid")
_DETAIL_EXCERPT = 300  # characters of an error body shown in a message
ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error body kept on the error
# Compiled by re on first use (only an error body is rendered), and kept in its cache.
_TAG = r"<(script|style)\b.*?</\1\s*>|<[^>]*>"
_TAG_FLAGS = re.IGNORECASE | re.DOTALL
_SPACES = r"\s+"


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110, section 10.2.3).

    ``delay-seconds`` is ``1*DIGIT`` only; anything else must be an HTTP date, whose distance
    from ``now`` it gives (0.0 for a date in the past: no wait). Returns None for a missing or
    unreadable value (``-5``, ``1e9``, ``inf``, ``nan``, ``abc``), which leaves the wait to
    the retry policy's jittered backoff. Absurdly long digit strings read as 10**10 s.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value[:11])) if len(value) <= 11 else 1e10
    if not any(c.isalpha() for c in value):
        return None  # a number of another form: not delay-seconds, not a date
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - (now or dt.datetime.now(dt.UTC))).total_seconds(), 0.0)


def request_id(headers: Mapping[str, str]) -> str | None:
    """A response's request id, from the first request-id header it carries."""
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value is not None:
            return value
    return None


def error_for_status(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    method: str = "",
    url: str = "",
    retry_after: float | None = None,
) -> APIError:
    """The :class:`APIError` for a non-2xx API response, per docs/helios.md#status-mapping.

    ``headers`` is a case-insensitive mapping; ``retry_after`` (seconds) is the parsed
    ``Retry-After``, passed in so that this stays a pure function of its inputs.
    """
    kwargs: dict[str, Any] = {
        "request_id": request_id(headers),
        "method": method,
        "url": url,
        "detail": render_detail(body),
    }
    if 300 <= status < 400:
        location = headers.get("Location", "")
        return RedirectError(
            status, body, location=redact_url(location) if location else "", **kwargs
        )
    if status == 429:
        return RateLimitError(status, body, retry_after=retry_after, **kwargs)
    if status in TRANSIENT_STATUSES:
        return TransientAPIError(status, body, retry_after=retry_after, **kwargs)
    cls: type[APIError]
    if status in (400, 410, 422):
        cls = BadRequestError
    elif status in (401, 403):
        cls = AuthenticationError
    elif status == 404:
        cls = NotFoundError
    else:
        cls = APIError
    return cls(status, body, **kwargs)


def render_detail(body: bytes) -> str:
    """An error body as one bounded line of text (at most 300 characters), else ''.

    A FastAPI-style ``detail`` (a string, or a list of ``{loc, msg}``) or a ``message`` is
    rendered; other JSON shows as its compact text; an HTML page as its text without markup;
    plain text as itself.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        text = body[:ERROR_BODY_LIMIT].decode("utf-8", "replace")
        if text.lstrip().startswith("<"):
            import html  # here: only an HTML error page needs it (about 1 ms to import)

            text = html.unescape(re.sub(_TAG, " ", text, flags=_TAG_FLAGS))
        return _bounded(text)
    detail = payload.get("detail", payload.get("message")) if isinstance(payload, dict) else None
    if isinstance(detail, str):
        return _bounded(detail)
    if isinstance(detail, list):
        rendered = []
        for item in detail:
            if isinstance(item, dict):
                parts = item.get("loc")
                parts = parts if isinstance(parts, list | tuple) else ()
                loc = ".".join(str(part) for part in parts if part != "body")
                message = str(item.get("msg", ""))
                rendered.append(f"{loc}: {message}" if loc else message)
        if rendered:
            return _bounded("; ".join(rendered))
    if payload is None or payload == "" or payload == {} or payload == []:
        return ""
    return _bounded(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False)[:ERROR_BODY_LIMIT]
    )


def _bounded(text: str) -> str:
    """``text`` on one line, at most 300 characters (an ellipsis marks a cut)."""
    line = re.sub(_SPACES, " ", text[: _DETAIL_EXCERPT * 4]).strip()
    return line if len(line) <= _DETAIL_EXCERPT else line[: _DETAIL_EXCERPT - 1].rstrip() + "…"


_PERSONAL_FIELDS = frozenset({"userLabel", "dateOfBirth", "value"})
"""Request body fields whose values are personal: cut from an error body that echoes them."""


def raise_for_status(response: ApiResponse, request: ApiRequest) -> None:
    """Raise the error a non-2xx status means; do nothing on 2xx."""
    if 200 <= response.status < 300:
        return
    raise error_for_status(
        response.status,
        _error_body(response, request),
        response.headers,
        method=request.method,
        url=redact_url(request.url),
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def _error_body(response: ApiResponse, request: ApiRequest) -> PersonalBytes:
    """The error body kept on the error: bounded, any echo of the key cut out, and held as
    :class:`PersonalBytes`. A helper of its own, returned before the raise, so that no
    frame on the error path holds the key or the raw body as a local (crash reporters show
    a frame's locals by their repr)."""
    body = response.body[:ERROR_BODY_LIMIT]
    # A server that echoes the key, or a label or tag value the request sent, must not put
    # it in our errors: all cut in one pass, longest first, so that no value is looked for
    # inside another's cut or inside the marker.
    key = request.headers.get(API_KEY_HEADER, "").encode()
    return personal_bytes(_cut(body, (key, *_sent_strings(request.body))))


def _cut(body: bytes, secrets: Iterable[bytes]) -> bytes:
    """``body`` with every one of ``secrets`` found in it replaced by ``<redacted>``."""
    found = sorted((value for value in secrets if value and value in body), key=len, reverse=True)
    if not found:
        return body
    return re.sub(b"|".join(map(re.escape, found)), b"<redacted>", body)


def _signature_parts(url: str) -> list[bytes]:
    """A presigned URL's query (its signature and credential) and each of its values of
    three characters or more, as sent and percent-decoded: what a storage error that
    echoes the URL could hold. Error path only."""
    query = urlsplit(url).query
    if not query:
        return []
    parts = [query.encode()]
    for _name, value in parse_qsl(query, keep_blank_values=True):
        if len(value) >= 3:
            parts += [value.encode(), quote(value, safe="").encode()]
    return parts


def _sent_strings(body: object) -> list[bytes]:
    """The personal values of a JSON request body (the user label, the date of birth, tag
    values) of three characters or more (a shorter one would cut letters out of any
    message), longest first, as the raw and the JSON-escaped bytes an echo could hold; []
    for no JSON body. Error path only: an error's rendered detail goes into its message,
    where health data must never be."""
    if not isinstance(body, bytes) or not body:
        return []
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    found: set[bytes] = set()
    stack = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for name, value in item.items():
                if name in _PERSONAL_FIELDS and isinstance(value, str) and len(value) >= 3:
                    found.add(value.encode())
                    found.add(json.dumps(value)[1:-1].encode())
                elif isinstance(value, dict | list):
                    stack.append(value)
    return sorted(found, key=len, reverse=True)


def decode(response: ApiResponse, request: ApiRequest, cls: type[T]) -> T:
    """The model a 2xx response carries, or the error its status means.

    Raises:
        APIError: a non-2xx status (its subclass per the status mapping).
        DecodeError: a 2xx body that is not the contract's JSON.
    """
    if not 200 <= response.status < 300:
        raise_for_status(response, request)
    try:
        return structure_json(response.body, cls, request_id=request_id(response.headers))
    except DecodeError as exc:
        # The frames below hold the body decoded and its values (labels, transcripts), as do
        # the json and cattrs errors chained to it: a traceback's locals show none of them.
        drop_inner_frames(exc)
        raise


def decode_created(response: ApiResponse, request: ApiRequest) -> ModelRunCreated:
    """The answer to a create; an id that is not a UUID could never be polled.

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
    """The answer to an Activity Plugin create, the link from whichever field it is in."""
    raise_for_status(response, request)
    payload = _json_object(response.body)
    link = next((payload[k] for k in ACTIVITY_LINK_FIELDS if isinstance(payload.get(k), str)), None)
    if not isinstance(payload.get("id"), str) or link is None:
        raise DecodeError("the activity response has no id or no activity link", body=response.body)
    _check_created_id(payload["id"], response.body)
    return ActivityRunCreated(
        id=payload["id"], activity_link=link, raw=payload, request_id=request_id(response.headers)
    )


def decode_upload(response: ApiResponse, request: ApiRequest, *, model_run_id: str | None) -> None:
    """Object storage's answer to the PUT: 2xx is success; 403 means the URL
    expired or was refused (new run needed); other refusals are :class:`UploadError`.

    Transient statuses (408, 429, 5xx) are raised as :class:`UploadError` too; its
    ``is_transient`` tells the retry policy to try again. ``model_run_id`` names the run in
    the error, where known.
    """
    status = response.status
    if 200 <= status < 300:
        return
    # Judged by its status alone; storage may echo the URL's signature in its error body,
    # which the error's message quotes in part: cut out before the error is made.
    body = personal_bytes(
        _cut(response.body[:ERROR_BODY_LIMIT], _signature_parts(str(request.url)))
    )
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        raise UploadRedirectError(
            status,
            body,
            model_run_id=model_run_id,
            location=redact_url(location) if location else "",
        )
    if status == 403:
        raise UploadURLExpiredError(status, body, model_run_id=model_run_id)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    raise UploadError(status, body, model_run_id=model_run_id, retry_after=retry_after)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        drop_inner_frames(exc)  # json's frames hold the body decoded, as a plain str
        raise DecodeError(f"the response is not JSON ({exc})", body=body, malformed=True) from exc
    if not isinstance(payload, dict):
        raise DecodeError("the response is not a JSON object", body=body)
    return payload
