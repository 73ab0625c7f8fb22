"""The sans-I/O core: building requests and decoding responses (helios-api.md §1, §2, D1-D4,
D13, D14)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from multidict import CIMultiDict

from helios_async import (
    Account,
    AuthenticationError,
    BadRequestError,
    BirthSex,
    DecodeError,
    InvalidInputError,
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
from helios_async._decoding import decode, decode_activity_run, decode_upload, parse_retry_after
from helios_async._protocol import (
    ApiRequest,
    ApiResponse,
    Endpoints,
    check_model_run_id,
    redact_url,
)
from helios_async._recording import PreparedRecording, RecordingBody

BASE = "https://api.example"
RUN_ID = "ddebd75b-99b3-42b4-ac65-5ce852c688e9"
NOW = dt.datetime(2015, 10, 21, 7, 27, 30, tzinfo=dt.UTC)


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


# --- Retry-After (RFC 9110) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 5 ", 5.0),
        ("1.5", 1.5),
        ("-3", 0.0),
    ],
)
def test_retry_after_in_seconds_is_parsed(value, seconds):
    """D13: delta-seconds; a negative value means no wait."""
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


# --- redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://storage.example/bucket/run.wav?X-Amz-Signature=abc123&X-Amz-Expires=3600",
            "https://storage.example/bucket/run.wav?<redacted>",
        ),
        ("https://up.example/u/ab%2Fcd?sig=zzz", "https://up.example/u/ab%2Fcd?<redacted>"),
        ("https://api.example/v1/account", "https://api.example/v1/account"),
        ("http://127.0.0.1:8080/upload/x?token=t", "http://127.0.0.1:8080/upload/x?<redacted>"),
    ],
)
def test_redact_url_drops_the_query_where_signatures_live(url, shown):
    """§4: presigned URLs carry their signature in the query; it never reaches messages."""
    assert redact_url(url) == shown


# --- building requests -------------------------------------------------------------------------


def test_get_account_is_a_plain_get_with_the_key_and_user_agent(endpoints, api_key):
    """§1.2, §2.2: every request carries x-api-key; a GET has no body and no Content-Type."""
    request = endpoints.get_account()
    assert (request.method, request.url) == ("GET", f"{BASE}/v1/account")
    assert request.body is None
    assert request.idempotent is True
    headers = CIMultiDict(request.headers)
    assert headers["x-api-key"] == api_key
    assert headers["User-Agent"] == "helios-async/test"
    assert headers["Accept"] == "application/json"
    assert "Content-Type" not in headers


def test_the_create_post_is_json_and_not_idempotent(endpoints, api_key):
    """§2.3, D13: the create is a POST of JSON that must not be blindly retried."""
    request = endpoints.create_model_run(a_request())
    assert (request.method, request.url) == ("POST", f"{BASE}/v1/models/mental-wellness")
    assert request.idempotent is False
    assert request.operation == "create_model_run"
    headers = CIMultiDict(request.headers)
    assert headers["Content-Type"] == "application/json"
    assert headers["x-api-key"] == api_key
    assert json.loads(request.body)["language"] == "en-GB"


def test_the_activity_create_uses_its_own_path_and_the_same_body(endpoints):
    """§2.4, D1: E3 takes the same fields as E2."""
    request = endpoints.create_activity_run(a_request())
    assert (request.method, request.url) == ("POST", f"{BASE}/v1/models/mental-wellness-activity")
    assert request.idempotent is False
    assert request.body == endpoints.create_model_run(a_request()).body


def test_get_model_run_uses_the_current_path_by_default(endpoints):
    """D1: GET /v1/models/mental-wellness/{id}."""
    request = endpoints.get_model_run(RUN_ID)
    assert (request.method, request.url) == ("GET", f"{BASE}/v1/models/mental-wellness/{RUN_ID}")
    assert request.idempotent is True


def test_get_model_run_uses_the_legacy_path_when_asked(api_key):
    """D1, §2.6: the old generic GET /v1/models/{id} is reachable by a setting."""
    legacy = Endpoints(base_url=BASE, api_key=api_key, user_agent="ua", legacy_get_path=True)
    assert legacy.get_model_run(RUN_ID).url == f"{BASE}/v1/models/{RUN_ID}"


@pytest.mark.parametrize(
    "bad_id", ["not-a-uuid", "", "../account", f"{RUN_ID}/../x", "1234", None, 42]
)
def test_a_non_uuid_run_id_is_refused_before_any_request(endpoints, bad_id):
    """§2.5: the path parameter is ``format: uuid``; anything else is refused locally."""
    with pytest.raises(InvalidInputError) as caught:
        endpoints.get_model_run(bad_id)
    assert caught.value.field == "model_run_id"


@pytest.mark.parametrize(
    "variant",
    [f"{{{RUN_ID}}}", f"urn:uuid:{RUN_ID}", RUN_ID.replace("-", "")],
    ids=["braces", "urn", "no-hyphens"],
)
def test_other_spellings_of_a_uuid_never_reach_the_path_as_spelled(endpoints, variant):
    """§2.5: the path takes the canonical ``format: uuid``. Python's ``uuid.UUID`` also reads
    ``{...}``, ``urn:uuid:...`` and unhyphenated forms; put raw into the URL (which is sent
    unquoted) they make a path the API does not serve (braces are not even legal in a URL
    path). Such an id must be refused locally or normalised to the canonical form."""
    try:
        url = endpoints.get_model_run(variant).url
    except InvalidInputError as exc:
        url = exc.field  # refused locally, naming the field
    assert url in (f"{BASE}/v1/models/mental-wellness/{RUN_ID}", "model_run_id")


def test_a_canonical_uuid_run_id_is_accepted():
    assert check_model_run_id(RUN_ID) == RUN_ID
    assert check_model_run_id(RUN_ID.upper()).lower() == RUN_ID


def test_the_key_is_hidden_from_the_reprs_of_requests_and_endpoints(endpoints, api_key):
    """§1.2: the key must never be exposed; reprs end up in logs and tracebacks."""
    for request in (
        endpoints.get_account(),
        endpoints.create_model_run(a_request()),
        endpoints.get_model_run(RUN_ID),
    ):
        assert api_key not in repr(request)
        assert api_key not in str(request)
    assert api_key not in repr(endpoints)
    assert "ApiRequest(" in repr(endpoints.get_account())


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


# --- the upload PUT ----------------------------------------------------------------------------

UPLOAD_URL = "https://storage.example/b/r.wav?X-Amz-Signature=s%2Fg&X-Amz-Expires=3600"


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


async def test_the_upload_is_an_api_request_built_like_every_other(endpoints, api_key):
    """D14: a PUT to the URL verbatim, Content-Type from the format, the exact Content-Length,
    no API key; its body re-opens the recording from the first byte each time."""
    request = endpoints.upload_recording(UPLOAD_URL, a_recording(b"RIFF1234WAVE"))
    assert (request.operation, request.method, request.url) == (
        "upload_recording",
        "PUT",
        UPLOAD_URL,
    )
    assert dict(request.headers) == {"Content-Type": "audio/wav", "Content-Length": "12"}
    assert api_key not in repr(request)
    assert "s%2Fg" not in repr(request)
    assert request.idempotent and request.to_storage
    assert isinstance(request.body, RecordingBody)
    for _ in range(2):  # every attempt re-reads it all
        with request.body.open() as chunks:
            assert b"".join([chunk async for chunk in chunks]) == b"RIFF1234WAVE"


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


def test_api_request_and_response_are_immutable_values():
    request = ApiRequest(operation="x", method="GET", url="https://h", headers={})
    with pytest.raises(AttributeError):
        request.url = "https://other"  # type: ignore[misc]
