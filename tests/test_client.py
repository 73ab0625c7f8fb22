"""HeliosClient against a mocked API (aioresponses), through the default aiohttp transport:
requests sent, answers decoded, retries per D13, polling per §5/D11, and the key kept secret
(§1.2); lifecycle and views are test_client_layers.py. The tier on the in-memory transport is
test_client_transport.py; the shared cool-down is tested there and in test_fanout.py, with
injected sleeps."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from multidict import CIMultiDict

from helios_async import (
    Account,
    ActivityRunCreated,
    AuthenticationError,
    BadRequestError,
    BirthSex,
    ConnectError,
    DeadlineExceededError,
    DecodeError,
    ErrorCode,
    HeliosClient,
    HeliosError,
    Hooks,
    InvalidInputError,
    ModelRun,
    ModelRunCreated,
    ModelRunFailedError,
    ModelRunStatus,
    NotFoundError,
    OutcomeUnknownError,
    PollPolicy,
    RateLimitError,
    RecordingError,
    RetryPolicy,
    TransientAPIError,
    TransportError,
    UploadURLExpiredError,
    User,
)

UPLOAD_URL = "https://storage.example/bucket/run.wav?X-Amz-Signature=s1gn4ture&X-Amz-Expires=3600"


async def no_sleep(seconds: float) -> None:
    """The retry policy's injected sleep: backoffs are never slept for real here."""


FAST_RETRY = RetryPolicy(
    attempts=3, backoff_initial=0.001, backoff_max=0.002, total_timeout=5, sleep=no_sleep
)
FAST_POLL = PollPolicy(first_interval=0.001, interval=0.001, timeout=2)


def minimal_user() -> User:
    """The §7 minimal request's user."""
    return User(
        user_label="42baba59-fa4a-4a22-ba1c-2e4a88a3badb",
        date_of_birth=dt.date(1990, 8, 24),
        birth_sex=BirthSex.MALE,
    )


def connect_error(host: str = "helios.example") -> aiohttp.ClientConnectorError:
    key = ConnectionKey(
        **(dict.fromkeys(ConnectionKey._fields) | {"host": host, "port": 443, "is_ssl": True})
    )
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


def sent_headers(call: Any) -> CIMultiDict[str]:
    return CIMultiDict(call.kwargs["headers"])


def assert_secret_kept(exc: BaseException, api_key: str) -> None:
    """Neither the error nor anything it was raised from mentions the key."""
    seen: BaseException | None = exc
    while seen is not None:
        assert api_key not in str(seen)
        assert api_key not in repr(seen)
        seen = seen.__cause__ or seen.__context__


@pytest.fixture
def urls(base_url: str, run_id: str) -> dict[str, str]:
    return {
        "account": f"{base_url}/v1/account",
        "create": f"{base_url}/v1/models/mental-wellness",
        "activity": f"{base_url}/v1/models/mental-wellness-activity",
        "run": f"{base_url}/v1/models/mental-wellness/{run_id}",
        "legacy_run": f"{base_url}/v1/models/{run_id}",
    }


# --- E1 get_account ----------------------------------------------------------------------------


async def test_get_account_sends_the_key_and_decodes_the_account(
    client, mock_api, urls, examples, api_key
):
    """§1.2, §2.2: GET /v1/account with x-api-key and a User-Agent."""
    mock_api.get(urls["account"], payload=examples["account"])
    account = await client.get_account()
    assert isinstance(account, Account)
    assert account.id == examples["account"]["id"]
    assert account.features == tuple(examples["account"]["features"])
    [call] = mock_api.calls("GET", urls["account"])
    headers = sent_headers(call)
    assert headers["x-api-key"] == api_key
    assert headers["User-Agent"].startswith("helios-async/")
    assert call.kwargs["allow_redirects"] is False  # the key never follows a redirect


@pytest.mark.parametrize("status", [401, 403])
async def test_401_and_403_are_authentication_errors_and_not_retried(
    client, mock_api, urls, examples, api_key, status
):
    """§1.5, D2, D3: both mean the key is missing, invalid or forbidden."""
    mock_api.get(urls["account"], status=status, payload=examples["forbidden_403"], repeat=True)
    with pytest.raises(AuthenticationError) as caught:
        await client.get_account()
    assert caught.value.status == status
    assert len(mock_api.calls("GET", urls["account"])) == 1
    assert_secret_kept(caught.value, api_key)


# --- E2 create_model_run -----------------------------------------------------------------------


async def test_create_model_run_sends_exactly_the_minimal_body_and_json_headers(
    client, mock_api, urls, examples, api_key
):
    """§2.3, §7: the minimal create is exactly the documented JSON."""
    mock_api.post(urls["create"], payload=examples["create_response"])
    created = await client.create_model_run(user=minimal_user(), language="en-GB")
    assert isinstance(created, ModelRunCreated)
    assert created.id == examples["create_response"]["id"]
    assert created.recording_upload_url == "https://path/to/upload"
    [call] = mock_api.calls("POST", urls["create"])
    assert json.loads(call.kwargs["data"]) == examples["minimal_create"]
    headers = sent_headers(call)
    assert headers["Content-Type"] == "application/json"
    assert headers["x-api-key"] == api_key


async def test_create_model_run_sends_the_optional_fields_camel_cased(
    client, mock_api, urls, examples
):
    mock_api.post(urls["create"], payload=examples["create_response"])
    await client.create_model_run(
        user=minimal_user(),
        language="en-GB",
        sleep_time=dt.datetime(2026, 3, 25, 23, 10),
        tags={"site": "depot-7"},
        delete_data=True,
    )
    [call] = mock_api.calls("POST", urls["create"])
    assert json.loads(call.kwargs["data"]) == {
        **examples["minimal_create"],
        "sleepTime": "2026-03-25T23:10:00",
        "tags": [{"name": "site", "value": "depot-7"}],
        "deleteData": True,
    }


async def test_invalid_create_input_is_refused_before_any_request(client, mock_api):
    """D7, D8: local checks come first, so no billable run is made."""
    with pytest.raises(InvalidInputError):
        await client.create_model_run(
            user=minimal_user(),
            language="en-GB",
            sleep_time=dt.datetime(2026, 3, 25, 23, 10, tzinfo=dt.UTC),
        )
    with pytest.raises(InvalidInputError):
        await client.create_model_run(user=minimal_user(), language="english")
    assert mock_api.total_calls() == 0


async def test_a_422_on_create_is_a_bad_request_with_the_detail_in_the_message(
    client, mock_api, urls, examples
):
    """§1.5, D2: the API judged the body malformed; the FastAPI detail is shown. A 422 proves
    no run was made, so it is not an OutcomeUnknownError."""
    mock_api.post(urls["create"], status=422, payload=examples["validation_422"])
    with pytest.raises(BadRequestError) as caught:
        await client.create_model_run(user=minimal_user(), language="en-GB")
    assert "user.birthSex: value is not a valid enumeration member" in str(caught.value)
    assert caught.value.status == 422
    assert len(mock_api.calls("POST", urls["create"])) == 1


async def test_create_is_not_retried_after_a_503_because_it_is_not_idempotent(
    client, mock_api, urls, api_key
):
    """D13: a 503 does not prove the server never acted; the outcome is unknown and exactly
    one POST is made."""
    mock_api.post(urls["create"], status=503, repeat=True)
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create_model_run(user=minimal_user(), language="en-GB")
    assert len(mock_api.calls("POST", urls["create"])) == 1
    assert isinstance(caught.value.__cause__, TransientAPIError)
    assert caught.value.user_label == minimal_user().user_label
    assert caught.value.operation == "create_model_run"
    assert_secret_kept(caught.value, api_key)


@pytest.mark.parametrize(
    "failure",
    [
        {"exception": aiohttp.ServerDisconnectedError()},
        {"exception": aiohttp.ClientPayloadError("cut short")},
        {"timeout": True},
    ],
    ids=["disconnected", "cut-short", "timeout"],
)
async def test_create_is_not_retried_after_a_failure_mid_request(client, mock_api, urls, failure):
    """D13: the request may have reached the server; the outcome is unknown."""
    mock_api.post(urls["create"], repeat=True, **failure)
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create_model_run(user=minimal_user(), language="en-GB")
    assert isinstance(caught.value.__cause__, TransportError)
    assert len(mock_api.calls("POST", urls["create"])) == 1


async def test_a_garbled_200_to_create_is_an_unknown_outcome_not_a_lost_run(client, mock_api, urls):
    """D13: the server answered 200, so a run probably exists; the caller must be told."""
    mock_api.post(urls["create"], body=b'{"id": "ddebd75b-99b3')
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create_model_run(user=minimal_user(), language="en-GB")
    assert isinstance(caught.value.__cause__, DecodeError)
    assert len(mock_api.calls("POST", urls["create"])) == 1


async def test_create_is_retried_after_a_429_with_retry_after_zero(
    client, mock_api, urls, examples
):
    """D13: a 429 proves the server did not act; the same body is sent again."""
    mock_api.post(urls["create"], status=429, headers={"Retry-After": "0"})
    mock_api.post(urls["create"], payload=examples["create_response"])
    created = await client.create_model_run(user=minimal_user(), language="en-GB")
    assert created.id == examples["create_response"]["id"]
    first, second = mock_api.calls("POST", urls["create"])
    assert first.kwargs["data"] == second.kwargs["data"]


async def test_create_is_retried_after_a_refused_connection(client, mock_api, urls, examples):
    """D13: a connection that could not be opened never reached the server."""
    mock_api.post(urls["create"], exception=connect_error())
    mock_api.post(urls["create"], payload=examples["create_response"])
    created = await client.create_model_run(user=minimal_user(), language="en-GB")
    assert created.id == examples["create_response"]["id"]
    assert len(mock_api.calls("POST", urls["create"])) == 2


async def test_create_that_keeps_getting_429_ends_with_rate_limit_error(client, mock_api, urls):
    """D13: after the attempts, a 429 is reported as such (no run was made), not as unknown."""
    mock_api.post(urls["create"], status=429, headers={"Retry-After": "0"}, repeat=True)
    with pytest.raises(RateLimitError) as caught:
        await client.create_model_run(user=minimal_user(), language="en-GB")
    assert caught.value.retry_after == 0.0
    assert len(mock_api.calls("POST", urls["create"])) == FAST_RETRY.attempts


async def test_create_that_cannot_connect_ends_with_connect_error(client, mock_api, urls, api_key):
    for _ in range(FAST_RETRY.attempts):
        mock_api.post(urls["create"], exception=connect_error())
    with pytest.raises(ConnectError) as caught:
        await client.create_model_run(user=minimal_user(), language="en-GB")
    assert len(mock_api.calls("POST", urls["create"])) == FAST_RETRY.attempts
    assert "Connection refused" in str(caught.value)
    assert_secret_kept(caught.value, api_key)


@pytest.mark.parametrize("operation", ["get", "create"])
async def test_a_retry_after_above_the_cap_raises_rate_limit_error_at_once(
    client, mock_api, urls, operation
):
    """D13: Retry-After is honoured up to ``max_retry_after`` (60 s by default); a longer one
    is not waited out."""
    url = urls["account"] if operation == "get" else urls["create"]
    mock_api.add(
        url,
        "GET" if operation == "get" else "POST",
        status=429,
        headers={"Retry-After": "120"},
        repeat=True,
    )
    call = (
        client.get_account()
        if operation == "get"
        else client.create_model_run(user=minimal_user(), language="en-GB")
    )
    with pytest.raises(RateLimitError) as caught:
        await call
    assert caught.value.retry_after == 120.0
    assert "retry after 120 s" in str(caught.value)
    assert mock_api.total_calls() == 1


# --- E3 create_activity_run --------------------------------------------------------------------


async def test_create_activity_run_returns_the_link(client, mock_api, urls, run_id, examples):
    """§2.4, D4."""
    payload = {"id": run_id, "activityLink": "https://activity.example/a/1"}
    mock_api.post(urls["activity"], payload=payload)
    created = await client.create_activity_run(user=minimal_user(), language="en-GB")
    assert isinstance(created, ActivityRunCreated)
    assert created.activity_link == "https://activity.example/a/1"
    [call] = mock_api.calls("POST", urls["activity"])
    assert json.loads(call.kwargs["data"]) == examples["minimal_create"]


# --- E4 get_model_run --------------------------------------------------------------------------


async def test_get_model_run_decodes_a_finished_run(client, mock_api, urls, run_id, examples):
    """§2.5, §3.3."""
    mock_api.get(urls["run"], payload=examples["run_complete_ok"])
    run = await client.get_model_run(run_id)
    assert isinstance(run, ModelRun)
    assert run.status is ModelRunStatus.COMPLETE_OK
    assert run.section is not None
    assert run.section.mental_strain == 0.42
    assert run.completed_at == dt.datetime(2026, 3, 26, 9, 31, 40, tzinfo=dt.UTC)


async def test_the_legacy_get_path_is_used_when_asked(
    mock_api, urls, run_id, examples, api_key, base_url
):
    """D1: GET /v1/models/{id} by a client setting."""
    mock_api.get(urls["legacy_run"], payload=examples["run_running"])
    async with HeliosClient(api_key, base_url=base_url, legacy_get_path=True) as client:
        run = await client.get_model_run(run_id)
    assert run.status is ModelRunStatus.RUNNING
    assert len(mock_api.calls("GET", urls["legacy_run"])) == 1
    assert mock_api.calls("GET", urls["run"]) == []


async def test_a_non_uuid_run_id_is_refused_without_a_request(client, mock_api):
    """§2.5: the id must be a UUID."""
    with pytest.raises(InvalidInputError):
        await client.get_model_run("../account")
    assert mock_api.total_calls() == 0


async def test_a_404_is_not_found_with_the_detail_and_not_retried(
    client, mock_api, urls, run_id, examples, api_key
):
    """§1.5, §3.5: unknown, or deleted after deleteData."""
    mock_api.get(
        urls["run"],
        status=404,
        payload=examples["not_found_404"],
        headers={"x-request-id": "req-42"},
        repeat=True,
    )
    with pytest.raises(NotFoundError) as caught:
        await client.get_model_run(run_id)
    assert "Model run not found" in str(caught.value)
    assert caught.value.request_id == "req-42"
    assert len(mock_api.calls("GET", urls["run"])) == 1
    assert_secret_kept(caught.value, api_key)


async def test_a_get_is_retried_after_a_503_and_then_succeeds(
    client, mock_api, urls, run_id, examples
):
    """D2, D13: GET is idempotent; 503 is transient."""
    mock_api.get(urls["run"], status=503)
    mock_api.get(urls["run"], payload=examples["run_running"])
    run = await client.get_model_run(run_id)
    assert run.status is ModelRunStatus.RUNNING
    assert len(mock_api.calls("GET", urls["run"])) == 2


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 408},
        {"status": 500},
        {"status": 502},
        {"status": 504},
        {"status": 429, "headers": {"Retry-After": "0"}},
        {"exception": connect_error()},
        {"exception": aiohttp.ServerDisconnectedError()},
        {"timeout": True},
    ],
    ids=["408", "500", "502", "504", "429", "connect", "disconnect", "timeout"],
)
async def test_a_get_is_retried_through_every_transient_failure(
    client, mock_api, urls, examples, failure
):
    """D2, D13: GET is retried on TransportError, 408, 429 and 5xx."""
    mock_api.get(urls["account"], **failure)
    mock_api.get(urls["account"], payload=examples["account"])
    assert (await client.get_account()).id == examples["account"]["id"]
    assert len(mock_api.calls("GET", urls["account"])) == 2


async def test_a_get_gives_up_after_the_attempts_with_the_last_error(client, mock_api, urls):
    mock_api.get(urls["account"], status=503, repeat=True)
    with pytest.raises(TransientAPIError) as caught:
        await client.get_account()
    assert caught.value.status == 503
    assert len(mock_api.calls("GET", urls["account"])) == FAST_RETRY.attempts


async def test_a_garbled_200_on_a_get_is_retried_then_a_decode_error_with_the_body(
    client, mock_api, urls, run_id
):
    """A 2xx body that is not JSON at all was garbled in transit: an idempotent GET is retried,
    and when every attempt is garbled the DecodeError carries the body."""
    body = b'{"id": "ddebd75b-99b3-42b4-ac65-5ce852c688e9", "status": "RUNN'
    mock_api.get(urls["run"], body=body, repeat=True)
    with pytest.raises(DecodeError) as caught:
        await client.get_model_run(run_id)
    assert caught.value.body == body
    assert "not JSON" in str(caught.value)
    assert caught.value.malformed
    assert len(mock_api.calls("GET", urls["run"])) == client.retry.attempts > 1


async def test_a_200_that_does_not_fit_the_model_is_a_decode_error(client, mock_api, urls, run_id):
    mock_api.get(urls["run"], payload={"id": run_id, "createdAt": "yesterday", "status": "RUNNING"})
    with pytest.raises(DecodeError, match=r"created_at|createdAt"):
        await client.get_model_run(run_id)


# --- waiting (§5, D11) -------------------------------------------------------------------------


async def test_wait_for_model_run_polls_until_complete_ok(client, mock_api, urls, run_id, examples):
    """§5: poll until the status is terminal."""
    for name in ("run_created", "run_running", "run_running", "run_complete_ok"):
        mock_api.get(urls["run"], payload=examples[name])
    run = await client.wait_for_model_run(run_id)
    assert run.status is ModelRunStatus.COMPLETE_OK
    assert len(mock_api.calls("GET", urls["run"])) == 4


async def test_wait_returns_a_failed_run_without_raising(client, mock_api, urls, run_id, examples):
    """§3.1: COMPLETE_ERROR is terminal; wait_for_model_run returns whatever the final status."""
    mock_api.get(urls["run"], payload=examples["run_running"])
    mock_api.get(urls["run"], payload=examples["run_complete_error"])
    run = await client.wait_for_model_run(run_id)
    assert run.status is ModelRunStatus.COMPLETE_ERROR
    assert run.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT


async def test_wait_keeps_polling_through_an_unknown_status(
    client, mock_api, urls, run_id, examples
):
    """D11: PROCESSING keeps the poller waiting."""
    mock_api.get(urls["run"], payload={**examples["run_running"], "status": "PROCESSING"})
    mock_api.get(urls["run"], payload=examples["run_complete_ok"])
    run = await client.wait_for_model_run(run_id)
    assert run.status is ModelRunStatus.COMPLETE_OK
    assert len(mock_api.calls("GET", urls["run"])) == 2


async def test_wait_rides_out_a_transient_error_between_polls(
    client, mock_api, urls, run_id, examples
):
    mock_api.get(urls["run"], payload=examples["run_running"])
    mock_api.get(urls["run"], status=503)
    mock_api.get(urls["run"], payload=examples["run_complete_ok"])
    assert (await client.wait_for_model_run(run_id)).status is ModelRunStatus.COMPLETE_OK


async def test_a_run_that_never_finishes_raises_deadline_exceeded_with_the_last_run(
    client, mock_api, urls, run_id, examples
):
    """§5: the wait has a hard deadline; the last run seen is kept to resume or report."""
    mock_api.get(urls["run"], payload=examples["run_running"], repeat=True)
    with pytest.raises(DeadlineExceededError) as caught:
        await client.wait_for_model_run(run_id, timeout=0.05)
    error = caught.value
    assert error.phase == "poll"
    assert error.timeout == 0.05
    assert error.model_run_id == run_id
    assert error.last_run is not None
    assert error.last_run.status is ModelRunStatus.RUNNING
    assert "last status RUNNING" in str(error)
    assert len(mock_api.calls("GET", urls["run"])) >= 2


async def test_wait_uses_the_policy_timeout_by_default(mock_api, urls, run_id, examples, api_key):
    mock_api.get(urls["run"], payload=examples["run_created"], repeat=True)
    poll = PollPolicy(first_interval=0.001, interval=0.001, timeout=0.05)
    async with HeliosClient(
        api_key, base_url=urls["account"][: -len("/v1/account")], poll=poll
    ) as client:
        with pytest.raises(DeadlineExceededError) as caught:
            await client.wait_for_model_run(run_id)
    assert caught.value.timeout == 0.05
    assert caught.value.last_run is not None


async def test_a_404_while_waiting_propagates(client, mock_api, urls, run_id, examples):
    """§3.5: a deleted run does not come back; waiting on it must stop."""
    mock_api.get(urls["run"], payload=examples["run_running"])
    mock_api.get(urls["run"], status=404, payload=examples["not_found_404"])
    with pytest.raises(NotFoundError):
        await client.wait_for_model_run(run_id)


# --- upload (§4, D14) --------------------------------------------------------------------------


async def test_upload_puts_the_exact_bytes_with_type_and_length_and_no_key(
    client, mock_api, audio_dir, api_key
):
    """D14: Content-Type from the format, exact Content-Length, never the x-api-key."""
    mock_api.put(UPLOAD_URL, status=200)
    path = audio_dir / "speech-en.wav"
    created = ModelRunCreated(id="r1", recording_upload_url=UPLOAD_URL)
    await client.upload_recording(created, path)
    [call] = mock_api.calls("PUT", UPLOAD_URL)
    headers = sent_headers(call)
    assert headers["Content-Type"] == "audio/wav"
    assert headers["Content-Length"] == str(path.stat().st_size)
    assert "x-api-key" not in headers
    assert api_key not in repr(dict(headers))
    assert call.kwargs["data"] == path.read_bytes()


async def test_an_expired_upload_url_is_reported_and_not_retried(client, mock_api, audio_dir):
    """D14: a 403 from storage means the URL expired or was refused; make a new run."""
    mock_api.put(UPLOAD_URL, status=403, body=b"<Error>AccessDenied</Error>", repeat=True)
    with pytest.raises(UploadURLExpiredError) as caught:
        await client.upload_recording(UPLOAD_URL, audio_dir / "speech-en.flac")
    assert len(mock_api.calls("PUT", UPLOAD_URL)) == 1
    assert "s1gn4ture" not in str(caught.value)


async def test_an_upload_is_retried_after_a_503_and_resends_everything(client, mock_api, audio_dir):
    """D13: the PUT is idempotent; each attempt re-reads the file from its first byte."""
    mock_api.put(UPLOAD_URL, status=503)
    mock_api.put(UPLOAD_URL, status=200)
    path = audio_dir / "speech-en.ogg"
    await client.upload_recording(UPLOAD_URL, path)
    first, second = mock_api.calls("PUT", UPLOAD_URL)
    assert first.kwargs["data"] == second.kwargs["data"] == path.read_bytes()


async def test_a_recording_refused_locally_sends_nothing(client, mock_api, audio_dir):
    """D9: short.wav is refused before any upload."""
    with pytest.raises(RecordingError) as caught:
        await client.upload_recording(UPLOAD_URL, audio_dir / "short.wav")
    assert caught.value.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    assert mock_api.total_calls() == 0


# --- the whole check ---------------------------------------------------------------------------


async def test_run_wellness_check_creates_uploads_and_waits(
    client, mock_api, urls, run_id, examples, audio_dir
):
    """§2.3 to §5: create, PUT to the returned URL, poll to COMPLETE_OK."""
    mock_api.post(urls["create"], payload={"id": run_id, "recordingUploadUrl": UPLOAD_URL})
    mock_api.put(UPLOAD_URL, status=200)
    mock_api.get(urls["run"], payload=examples["run_running"])
    mock_api.get(urls["run"], payload=examples["run_complete_ok"])
    seen: list[ModelRunCreated] = []
    run = await client.run_wellness_check(
        audio_dir / "speech-en.mp3",
        user=minimal_user(),
        language="en-GB",
        on_created=seen.append,
    )
    assert run.succeeded
    assert [c.id for c in seen] == [run_id]
    assert sent_headers(mock_api.calls("PUT", UPLOAD_URL)[0])["Content-Type"] == "audio/mpeg"


async def test_run_wellness_check_raises_model_run_failed_on_complete_error(
    client, mock_api, urls, run_id, examples, audio_dir
):
    """§3.4: the code is on the error."""
    mock_api.post(urls["create"], payload={"id": run_id, "recordingUploadUrl": UPLOAD_URL})
    mock_api.put(UPLOAD_URL, status=200)
    mock_api.get(urls["run"], payload=examples["run_complete_error"])
    with pytest.raises(ModelRunFailedError) as caught:
        await client.run_wellness_check(
            audio_dir / "speech-en.wav", user=minimal_user(), language="en-GB"
        )
    assert caught.value.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    assert caught.value.model_run_id == run_id


async def test_run_wellness_check_refuses_a_bad_recording_before_creating_a_run(
    client, mock_api, audio_dir
):
    """D9: nothing billable happens when the recording is refused locally."""
    with pytest.raises(RecordingError):
        await client.run_wellness_check(
            audio_dir / "short.wav", user=minimal_user(), language="en-GB"
        )
    assert mock_api.total_calls() == 0


# --- the key stays secret (§1.2) ---------------------------------------------------------------


async def test_the_key_never_appears_in_repr_errors_or_debug_logs(
    mock_api, urls, run_id, examples, api_key, base_url, caplog, audio_dir
):
    """§1.2: the key must never be exposed: not in repr, messages, or logs at DEBUG."""
    caplog.set_level(logging.DEBUG)
    mock_api.get(urls["account"], status=503)
    mock_api.get(urls["account"], payload=examples["account"])
    mock_api.get(urls["run"], status=401, payload={"detail": "Invalid API key"})
    mock_api.post(urls["create"], status=503)
    mock_api.post(urls["create"], exception=connect_error())
    mock_api.post(urls["create"], exception=connect_error())
    mock_api.post(urls["create"], exception=connect_error())
    mock_api.put(UPLOAD_URL, status=403)
    errors: list[BaseException] = []
    async with HeliosClient(api_key, base_url=base_url, retry=FAST_RETRY, poll=FAST_POLL) as client:
        assert api_key not in repr(client)
        assert api_key not in str(client)
        await client.get_account()
        for attempt in (
            client.get_model_run(run_id),
            client.create_model_run(user=minimal_user(), language="en-GB"),
            client.create_model_run(user=minimal_user(), language="en-GB"),
            client.upload_recording(UPLOAD_URL, audio_dir / "speech-en.wav"),
            client.get_model_run("not-a-uuid"),
        ):
            with pytest.raises(HeliosError) as caught:
                await attempt
            errors.append(caught.value)
    assert [type(e) for e in errors] == [
        AuthenticationError,
        OutcomeUnknownError,
        ConnectError,
        UploadURLExpiredError,
        InvalidInputError,
    ]
    for error in errors:
        assert_secret_kept(error, api_key)
    assert caplog.records, "the client logs its requests at DEBUG"
    assert any(r.name == "helios_async" and r.levelno == logging.DEBUG for r in caplog.records)
    assert any("retrying" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert api_key not in record.getMessage()
        assert api_key not in repr(record.args)
    assert api_key not in caplog.text
    assert "s1gn4ture" not in caplog.text  # presigned signatures are redacted too


# --- hooks, views and the shared cool-down -----------------------------------------------------


async def test_hooks_see_each_attempt_its_response_and_the_retry_in_order(
    mock_api, urls, examples, api_key, base_url
):
    """Hooks fire inline: request, response, retry, request, response; URLs and events carry
    no key."""
    events: list[tuple[str, Any]] = []
    hooks = Hooks(
        on_request=lambda e: events.append(("request", e)),
        on_response=lambda e: events.append(("response", e)),
        on_retry=lambda e: events.append(("retry", e)),
    )
    mock_api.get(urls["account"], status=503, headers={"x-request-id": "first"})
    mock_api.get(urls["account"], payload=examples["account"])
    async with HeliosClient(api_key, base_url=base_url, retry=FAST_RETRY, hooks=hooks) as client:
        await client.get_account()
    assert [kind for kind, _ in events] == ["request", "response", "retry", "request", "response"]
    first_request, first_response, retry, _, last_response = (e for _, e in events)
    assert (first_request.operation, first_request.method, first_request.attempt) == (
        "get_account",
        "GET",
        1,
    )
    assert first_request.url == urls["account"]
    assert (first_response.status, first_response.request_id) == (503, "first")
    assert first_response.elapsed >= 0
    assert isinstance(retry.error, TransientAPIError)
    assert retry.attempt == 1
    assert 0 <= retry.delay <= FAST_RETRY.backoff_initial
    assert (last_response.status, last_response.attempt) == (200, 2)
    assert all(api_key not in repr(e) for _, e in events)


async def test_upload_and_poll_hooks_report_progress_and_runs(
    mock_api, urls, run_id, examples, api_key, base_url, audio_dir
):
    progress: list[tuple[int, int]] = []
    polled: list[ModelRun] = []
    urls_seen: list[str] = []
    hooks = Hooks(
        on_upload_progress=lambda sent, total: progress.append((sent, total)),
        on_poll=polled.append,
        on_request=lambda e: urls_seen.append(e.url),
    )
    mock_api.put(UPLOAD_URL, status=200)
    mock_api.get(urls["run"], payload=examples["run_running"])
    mock_api.get(urls["run"], payload=examples["run_complete_ok"])
    size = (audio_dir / "speech-en.wav").stat().st_size
    async with HeliosClient(api_key, base_url=base_url, poll=FAST_POLL, hooks=hooks) as client:
        await client.upload_recording(UPLOAD_URL, audio_dir / "speech-en.wav")
        await client.wait_for_model_run(run_id)
    assert progress[-1] == (size, size)
    assert [sent for sent, _ in progress] == sorted(sent for sent, _ in progress)
    assert [run.status for run in polled] == [ModelRunStatus.RUNNING, ModelRunStatus.COMPLETE_OK]
    assert urls_seen[0] == "https://storage.example/bucket/run.wav?<redacted>"  # §4: signature
