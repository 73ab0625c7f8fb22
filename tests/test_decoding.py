"""helios_async._decoding: what a response means, the one status mapping (helios-api.md
§1.5, D2, D13), request ids and rendered error bodies."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from multidict import CIMultiDict

from helios_async import (
    Account,
    APIError,
    AuthenticationError,
    BadRequestError,
    BirthSex,
    DecodeError,
    HeliosError,
    ModelRun,
    ModelRunCreated,
    ModelRunRequest,
    NotFoundError,
    RateLimitError,
    TransientAPIError,
    UploadError,
    UploadURLExpiredError,
    User,
)
from helios_async._audio import AudioFormat
from helios_async._decoding import (
    decode,
    decode_activity_run,
    decode_upload,
    error_for_status,
    parse_retry_after,
    raise_for_status,
)
from helios_async._protocol import ApiResponse, Endpoints
from helios_async._recording import PreparedRecording

NO_HEADERS: CIMultiDict[str] = CIMultiDict()
BASE = "https://api.example"
RUN_ID = "ddebd75b-99b3-42b4-ac65-5ce852c688e9"
NOW = dt.datetime(2015, 10, 21, 7, 27, 30, tzinfo=dt.UTC)
UPLOAD_URL = "https://storage.example/b/r.wav?X-Amz-Signature=s%2Fg&X-Amz-Expires=3600"


@pytest.fixture
def endpoints(api_key: str) -> Endpoints:
    return Endpoints(base_url=BASE, api_key=api_key, user_agent="helios-async/test")


def a_request() -> ModelRunRequest:
    return ModelRunRequest(
        user=User(user_label="u-1", date_of_birth=dt.date(1990, 8, 24), birth_sex=BirthSex.MALE),
        language="en-GB",
    )


def response(status: int, payload: object = None, *, body: bytes | None = None, **headers: str):
    raw = body if body is not None else json.dumps(payload).encode()
    return ApiResponse(status=status, headers=CIMultiDict(headers), body=raw)


def a_recording(data: bytes = b"RIFF....WAVE") -> PreparedRecording:
    return PreparedRecording(
        format=AudioFormat.WAV,
        size=len(data),
        duration=None,
        name="r",
        open=lambda: io.BytesIO(data),
    )


def check_upload_response(status, body, headers, *, model_run_id):
    """Judge a storage answer to a real upload request, as the client does."""
    request = Endpoints(base_url="https://h", api_key="k", user_agent="ua").upload_recording(
        UPLOAD_URL, a_recording()
    )
    answer = ApiResponse(status=status, headers=CIMultiDict(headers), body=body)
    decode_upload(answer, request, model_run_id=model_run_id)


# --- Retry-After (RFC 9110) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 5 ", 5.0),
        ("1.5", None),
        ("-3", None),
        ("1e9", None),
        ("inf", None),
        ("nan", None),
        ("abc", None),
        ("9" * 400, 1e10),
    ],
)
def test_retry_after_in_seconds_is_parsed(value, seconds):
    """RFC 9110: delay-seconds is 1*DIGIT only; anything else that is no HTTP date is
    unreadable (None: the backoff decides); absurd digit strings are capped, not crashed."""
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date_counts_from_now():
    """D13: an HTTP date is turned into seconds from now."""
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=NOW) == 30.0


def test_retry_after_as_an_http_date_uses_the_real_clock_by_default():
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=100)
    header = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 95.0 <= parse_retry_after(header) <= 100.0


def test_a_retry_after_date_in_the_past_means_no_wait():
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "Wed, 99 Foo 2015", "1 minute"])
def test_missing_or_unreadable_retry_after_is_none(value):
    assert parse_retry_after(value, now=NOW) is None


# --- decoding ----------------------------------------------------------------------------------


def test_decode_turns_a_200_into_the_model(endpoints, examples):
    request = endpoints.get_model_run(RUN_ID)
    run = decode(response(200, examples["run_running"]), request, ModelRun)
    assert isinstance(run, ModelRun)
    assert run.id == RUN_ID


def test_decode_accepts_any_2xx(endpoints, examples):
    """§1.5: creation is documented as 200; a third party also saw 201."""
    request = endpoints.create_model_run(a_request())
    created = decode(response(201, examples["create_response"]), request, ModelRunCreated)
    assert created.recording_upload_url == "https://path/to/upload"


@pytest.mark.parametrize(
    ("status", "cls"),
    [(422, BadRequestError), (401, AuthenticationError), (404, NotFoundError)],
)
def test_decode_raises_the_error_the_status_means(endpoints, status, cls):
    """D2, with the method and the URL in the message."""
    request = endpoints.get_model_run(RUN_ID)
    with pytest.raises(cls) as caught:
        decode(response(status, {"detail": "nope"}, **{"x-request-id": "rid"}), request, ModelRun)
    assert caught.value.method == "GET"
    assert caught.value.url == request.url
    assert caught.value.request_id == "rid"
    assert "nope" in str(caught.value)


def test_decode_passes_the_parsed_retry_after_to_the_error(endpoints):
    request = endpoints.get_account()
    with pytest.raises(RateLimitError) as caught:
        decode(response(429, {}, **{"Retry-After": "3"}), request, Account)
    assert caught.value.retry_after == 3.0
    with pytest.raises(TransientAPIError) as unavailable:
        decode(response(503, body=b"", **{"retry-after": "garbage"}), request, Account)
    assert unavailable.value.retry_after is None


def test_decode_raises_decode_error_for_a_2xx_that_is_not_the_contract(endpoints):
    request = endpoints.get_account()
    with pytest.raises(DecodeError) as caught:
        decode(response(200, body=b'{"id": "acc", "feat'), request, Account)
    assert caught.value.body == b'{"id": "acc", "feat'


@pytest.mark.parametrize("field", ["activityLink", "activityUrl", "link", "url"])
def test_the_activity_answer_takes_the_link_from_any_allowed_field(endpoints, field):
    """D4: the link's field name is unknown; these four are accepted, the payload kept raw."""
    payload = {"id": RUN_ID, field: "https://activity.example/a/1", "other": 1}
    created = decode_activity_run(
        response(200, payload), endpoints.create_activity_run(a_request())
    )
    assert created.id == RUN_ID
    assert created.activity_link == "https://activity.example/a/1"
    assert created.raw == payload


def test_the_activity_link_fields_are_tried_in_the_documented_order(endpoints):
    payload = {"id": RUN_ID, "url": "https://u", "activityLink": "https://first"}
    created = decode_activity_run(
        response(200, payload), endpoints.create_activity_run(a_request())
    )
    assert created.activity_link == "https://first"


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "x"}',
        b'{"activityLink": "https://a"}',
        b'{"id": 5, "link": "https://a"}',
        b'{"id": "x", "link": 5}',
        b"[]",
        b"nope",
    ],
)
def test_an_activity_answer_without_id_or_link_is_a_decode_error(endpoints, body):
    with pytest.raises(DecodeError) as caught:
        decode_activity_run(response(200, body=body), endpoints.create_activity_run(a_request()))
    assert caught.value.body == body


def test_the_activity_answer_raises_for_error_statuses(endpoints):
    with pytest.raises(BadRequestError):
        decode_activity_run(
            response(422, {"detail": []}), endpoints.create_activity_run(a_request())
        )


# --- the upload PUT's answer ------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204])
def test_storage_success_statuses_are_accepted(status):
    """§4: the upload returned 200 in practice; 201/204 are also success."""
    check_upload_response(status, b"", {}, model_run_id=RUN_ID)


def test_a_403_from_storage_means_the_url_expired_or_was_refused():
    """D14, D16: the remedy is a new run."""
    with pytest.raises(UploadURLExpiredError) as caught:
        check_upload_response(403, b"<Error>AccessDenied</Error>", {}, model_run_id=RUN_ID)
    assert caught.value.model_run_id == RUN_ID
    assert caught.value.is_transient is False


@pytest.mark.parametrize(("status", "transient"), [(411, False), (501, False), (503, True)])
def test_other_storage_refusals_are_upload_errors(status, transient):
    """D16: 411 without Content-Length, 501 for chunked bodies; 5xx may pass."""
    with pytest.raises(UploadError) as caught:
        check_upload_response(status, b"", {}, model_run_id=None)
    assert type(caught.value) is UploadError
    assert caught.value.is_transient is transient


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
        (b"<html><body>502 Bad Gateway</body></html>", "502 Bad Gateway"),
        (b"upstream connect error", "upstream connect error"),
        (b"[1, 2]", "[1,2]"),
        (b'{"detail": 42}', '{"detail":42}'),
        (b'{"other": "x"}', '{"other":"x"}'),
    ],
)
def test_bodies_without_a_usable_detail_do_not_break_the_error(body, detail):
    """D2: bodies are not relied on, but shown: HTML as its text without markup, other JSON
    as its compact text, plain text as itself."""
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


@pytest.mark.parametrize(
    ("status", "error_type", "body", "kept"),
    [
        (
            403,
            UploadURLExpiredError,
            b"<Error><Code>SignatureDoesNotMatch</Code><Message>sig SIGNATURE-0123456789 url "
            b"https://storage.example/b/r.wav?X-Amz-Signature=SIGNATURE-0123456789&X-Amz-Credential"
            b"=AKIAEXAMPLE</Message></Error>",
            "storage says SignatureDoesNotMatch",
        ),
        (
            400,
            UploadError,
            b"bad signature SIGNATURE-0123456789 for ?X-Amz-Signature=SIGNATURE-0123456789"
            b"&X-Amz-Credential=AKIAEXAMPLE",
            "bad signature <redacted> for ?<redacted>",
        ),
    ],
)
def test_a_storage_error_that_echoes_the_signature_shows_it_nowhere(status, error_type, body, kept):
    """Storage that repeats the presigned URL's signature or credential in its error (in
    S3's XML ``<Message>`` or plain text): the message and the error's body show
    ``<redacted>`` in their place, the rest of the text stays."""
    url = (
        "https://storage.example/b/r.wav?X-Amz-Signature=SIGNATURE-0123456789"
        "&X-Amz-Credential=AKIAEXAMPLE"
    )
    request = Endpoints(base_url="https://h", api_key="k", user_agent="ua").upload_recording(
        url, a_recording()
    )
    answer = ApiResponse(status=status, headers=CIMultiDict(), body=body)
    with pytest.raises(error_type) as caught:
        decode_upload(answer, request, model_run_id=RUN_ID)
    shown = str(caught.value) + bytes(caught.value.body).decode()
    assert "SIGNATURE-0123456789" not in shown and "AKIAEXAMPLE" not in shown, shown
    assert kept in str(caught.value)
