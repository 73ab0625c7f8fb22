"""helios_async._protocol: the requests to send, every one built as a pure value, the upload
included (helios-api.md §1, §2, §4, D1, D13, D14); their answers are test_decoding's."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from multidict import CIMultiDict

from helios_async import (
    BirthSex,
    InvalidInputError,
    ModelRunRequest,
    User,
)
from helios_async._audio import AudioFormat
from helios_async._protocol import (
    ApiRequest,
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


def test_the_get_of_a_run_is_built_once_per_id_and_a_bad_id_is_still_refused(endpoints):
    """A run is polled many times: the same id gives the same request, unchanged, while a
    new id gets its own and a bad one is refused every time it is asked for."""
    other = "5f0c1a9e-3b7d-4c2a-9e8f-1a2b3c4d5e6f"
    first = endpoints.get_model_run(RUN_ID)
    assert endpoints.get_model_run(RUN_ID) is first
    assert endpoints.get_model_run(other).url.endswith(other)
    assert endpoints.get_model_run(RUN_ID) is first
    for _ in range(2):
        with pytest.raises(InvalidInputError):
            endpoints.get_model_run("not-a-uuid")


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


def test_api_request_and_response_are_immutable_values():
    request = ApiRequest(operation="x", method="GET", url="https://h", headers={})
    with pytest.raises(AttributeError):
        request.url = "https://other"  # type: ignore[misc]
