"""helios_async._decoding: what a response means, the one status mapping (helios-api.md
§1.5, D2, D13), request ids and rendered error bodies."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict

from helios_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    HeliosError,
    NotFoundError,
    RateLimitError,
    TransientAPIError,
)
from helios_async._decoding import error_for_status, raise_for_status
from helios_async._protocol import ApiResponse, Endpoints

NO_HEADERS: CIMultiDict[str] = CIMultiDict()


# --- D2: status mapping ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected", "transient"),
    [
        (400, BadRequestError, False),
        (410, BadRequestError, False),
        (422, BadRequestError, False),
        (401, AuthenticationError, False),
        (403, AuthenticationError, False),
        (404, NotFoundError, False),
        (408, TransientAPIError, True),
        (429, RateLimitError, True),
        (500, TransientAPIError, True),
        (502, TransientAPIError, True),
        (503, TransientAPIError, True),
        (504, TransientAPIError, True),
        (405, APIError, False),
        (409, APIError, False),
        (418, APIError, False),
        (501, APIError, False),
        (505, APIError, False),
        (599, APIError, False),
    ],
)
def test_error_for_status_maps_every_status_per_d2(status, expected, transient):
    """D2: 400/410/422 malformed, 401/403 auth, 404 not found, 408/429/5xx transient; any other
    status is a plain APIError that is not worth retrying."""
    body = b'{"anything": true}'
    error = error_for_status(status, body, NO_HEADERS, method="GET", url="https://h/v1/account")
    assert type(error) is expected
    assert isinstance(error, APIError)
    assert isinstance(error, HeliosError)
    assert error.status == status
    assert error.body == body
    assert error.is_transient is transient
    assert f"HTTP {status}" in str(error)
    assert "GET https://h/v1/account" in str(error)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-request-id", "req-123"),
        ("X-Request-ID", "req-CASE"),
        ("x-amzn-RequestId", "amzn-456"),
        ("x-amz-request-id", "amz-789"),
        ("apigw-requestid", "apigw-000"),
    ],
)
def test_the_request_id_header_is_kept_and_shown_in_the_message(header, value):
    """D2: a request id from the response (any of the usual headers, any case) is kept."""
    headers = CIMultiDict({header: value})
    error = error_for_status(500, b"", headers)
    assert error.request_id == value
    assert f"request id {value}" in str(error)


def test_x_request_id_wins_over_a_gateway_request_id():
    """The sandbox's x-request-id is the most specific; it beats API Gateway's ids."""
    headers = CIMultiDict({"apigw-requestid": "gateway", "x-request-id": "ours"})
    assert error_for_status(404, b"", headers).request_id == "ours"


def test_no_request_id_header_gives_none_and_no_mention():
    error = error_for_status(404, b"", CIMultiDict({"content-type": "application/json"}))
    assert error.request_id is None
    assert "request id" not in str(error)


def test_a_fastapi_validation_detail_list_is_rendered_into_the_message(examples):
    """D2, §7: a 422's ``detail`` list shows each location (without "body") and message."""
    body = json.dumps(examples["validation_422"]).encode()
    error = error_for_status(422, body, NO_HEADERS)
    assert isinstance(error, BadRequestError)
    assert error.detail == "user.birthSex: value is not a valid enumeration member"
    assert "user.birthSex: value is not a valid enumeration member" in str(error)
    assert error.body == body  # kept raw, never parsed to decide anything


def test_several_validation_details_are_all_rendered():
    body = json.dumps(
        {
            "detail": [
                {"loc": ["body", "language"], "msg": "field required", "type": "missing"},
                {"loc": ["body", "user", "userLabel"], "msg": "too long", "type": "x"},
            ]
        }
    ).encode()
    message = str(error_for_status(422, body, NO_HEADERS))
    assert "language: field required" in message
    assert "user.userLabel: too long" in message


def test_a_fastapi_detail_string_is_rendered_into_the_message(examples):
    """§7: a 404's ``{"detail": "Model run not found"}`` reads as such."""
    error = error_for_status(404, json.dumps(examples["not_found_404"]).encode(), NO_HEADERS)
    assert isinstance(error, NotFoundError)
    assert error.detail == "Model run not found"
    assert str(error).endswith(": Model run not found")


def test_the_gateway_forbidden_message_is_rendered(examples):
    """§1.5, D3: the gateway's 403 ``{"message": "Forbidden"}`` is an auth error that says so."""
    error = error_for_status(403, json.dumps(examples["forbidden_403"]).encode(), NO_HEADERS)
    assert isinstance(error, AuthenticationError)
    assert "Forbidden" in str(error)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", ""),
        (b"<html><body>502 Bad Gateway</body></html>", ""),
        (b"upstream connect error", "upstream connect error"),
        (b"[1, 2]", ""),
        (b'{"detail": 42}', ""),
        (b'{"other": "x"}', ""),
    ],
)
def test_bodies_without_a_usable_detail_do_not_break_the_error(body, detail):
    """D2: bodies are not relied on; HTML is left out of the message, plain text shown."""
    error = error_for_status(502, body, NO_HEADERS)
    assert error.detail == detail
    assert error.body == body
    assert "<html>" not in str(error)


def test_retry_after_is_carried_by_transient_errors_and_named_in_the_message():
    """D13: the parsed Retry-After travels on the error, in seconds."""
    error = error_for_status(429, b"", NO_HEADERS, retry_after=7.0)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert "retry after 7 s" in str(error)
    unavailable = error_for_status(503, b"", NO_HEADERS, retry_after=None)
    assert isinstance(unavailable, TransientAPIError)
    assert unavailable.retry_after is None
    assert "retry after" not in str(unavailable)


def test_error_messages_hold_no_api_key_even_when_built_from_a_real_request(api_key):
    """The key travels only in a request header; no error keeps request headers."""

    endpoints = Endpoints(base_url="https://h", api_key=api_key, user_agent="ua")
    request = endpoints.get_account()
    for status in (400, 401, 403, 404, 408, 422, 429, 500, 503, 418):
        response = ApiResponse(
            status=status, headers=CIMultiDict({"x-request-id": "r"}), body=b'{"detail":"no"}'
        )
        with pytest.raises(APIError) as caught:
            raise_for_status(response, request)
        assert api_key not in str(caught.value)
        assert api_key not in repr(caught.value)
        assert api_key not in repr(vars(caught.value))
