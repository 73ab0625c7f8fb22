"""Bad input and a misbehaving server end in a typed HeliosError, never a hang or a stray
exception (found by trying the client as a new user would)."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from helios_async import (
    AuthenticationError,
    BadRequestError,
    DecodeError,
    HeliosClient,
    InvalidInputError,
    OutcomeUnknownError,
    RecordingError,
    User,
    WellnessJob,
)
from helios_async.cli._output import load_recorded
from helios_async.testing import sample_recording

BASE_URL = "https://helios.example"
RUN_ID = "ddebd75b-99b3-42b4-ac65-5ce852c688e9"
RUN_URL = f"{BASE_URL}/v1/models/mental-wellness/{RUN_ID}"
CREATE_URL = f"{BASE_URL}/v1/models/mental-wellness"
USER = User(user_label="robust", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -math.inf, 0, -1, "5", True])
async def test_an_unusable_deadline_or_timeout_is_refused_before_any_request(
    client: HeliosClient, mock_api: Any, seconds: object
) -> None:
    """NaN would hang the poller and corrupt the loop's timers; 0 or less can never be met."""
    with pytest.raises(InvalidInputError, match="deadline"):
        await client.run_wellness_check(
            sample_recording(),
            user=USER,
            language="en-GB",
            deadline=seconds,  # type: ignore[arg-type]
        )
    with pytest.raises(InvalidInputError, match="timeout"):
        await client.wait_for_model_run(RUN_ID, timeout=seconds)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="deadline"):
        WellnessJob(recording=b"", user=USER, language="en-GB", deadline=seconds)  # type: ignore[arg-type]
    assert mock_api.total_calls() == 0


async def test_a_non_finite_score_is_a_decode_error(
    client: HeliosClient, mock_api: Any, examples: dict[str, Any]
) -> None:
    """§3.3, D6: a score is a finite number; NaN from a server is not passed on."""
    body = json.dumps(examples["run_complete_ok"]).replace("0.42", "NaN").encode()
    mock_api.get(RUN_URL, body=body, repeat=True)
    with pytest.raises(DecodeError, match="mental_strain"):
        await client.get_model_run(RUN_ID)


async def test_a_new_run_whose_id_is_not_a_uuid_is_an_unknown_outcome(
    client: HeliosClient, mock_api: Any
) -> None:
    """§2.5: such a run could never be polled; the create's outcome is unknown (D13)."""
    mock_api.post(CREATE_URL, payload={"id": "abc", "recordingUploadUrl": "https://s/x"})
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.create_model_run(user=USER, language="en-GB")
    assert isinstance(caught.value.__cause__, DecodeError)
    assert "not a UUID" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"detail": [{"loc": 5, "msg": "bad"}]}',
        b'{"detail": [{"msg": {"nested": 1}}, 7, null]}',
        b"[" * 100_000,
    ],
)
async def test_an_odd_422_body_still_gives_a_bad_request_error(
    client: HeliosClient, mock_api: Any, body: bytes
) -> None:
    """D2: error bodies are never parsed to decide anything, and never crash the client."""
    mock_api.post(CREATE_URL, status=422, body=body)
    with pytest.raises(BadRequestError):
        await client.create_model_run(user=USER, language="en-GB")


async def test_a_deeply_nested_200_body_is_a_decode_error(
    client: HeliosClient, mock_api: Any
) -> None:
    mock_api.get(RUN_URL, body=b"[" * 100_000, repeat=True)
    with pytest.raises(DecodeError):
        await client.get_model_run(RUN_ID)


async def test_a_server_that_echoes_the_key_does_not_put_it_in_our_error(
    client: HeliosClient, mock_api: Any, api_key: str
) -> None:
    """The key is a secret: not in an exception message, even when the server repeats it."""
    mock_api.get(RUN_URL, status=401, payload={"detail": f"key {api_key} is not valid"})
    with pytest.raises(AuthenticationError) as caught:
        await client.get_model_run(RUN_ID)
    assert api_key not in str(caught.value)
    assert api_key.encode() not in caught.value.body


async def test_a_complete_ok_run_without_results_is_a_decode_error_not_a_failure(
    client: HeliosClient, mock_api: Any, examples: dict[str, Any]
) -> None:
    """§3.3: COMPLETE_OK carries results; one without is a broken answer, not a failed run."""
    mock_api.post(CREATE_URL, payload={"id": RUN_ID, "recordingUploadUrl": "https://s/up"})
    mock_api.put("https://s/up", status=200)
    mock_api.get(RUN_URL, payload={**examples["run_complete_ok"], "results": {"sections": []}})
    with pytest.raises(DecodeError, match="no results"):
        await client.run_wellness_check(sample_recording(), user=USER, language="en-GB")


async def test_wrong_kinds_of_recording_are_recording_errors(
    client: HeliosClient, tmp_path: Path
) -> None:
    """D9: a text-mode file, a file that cannot be read as one, and no recording at all."""
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    with text.open() as opened, pytest.raises(RecordingError, match="text mode"):
        await client.upload_recording("https://s/up", opened)  # type: ignore[arg-type]
    with pytest.raises(RecordingError):
        await client.upload_recording("https://s/up", Path("/proc/self/status"))
    with pytest.raises(InvalidInputError, match="created_or_url"):
        await client.upload_recording(None, sample_recording())  # type: ignore[arg-type]
    with pytest.raises(RecordingError):
        await client.upload_recording("https://s/up", io.StringIO("x"))  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [-1, 2.5, "10"])
def test_a_connection_limit_that_would_hang_every_request_is_refused(limit: object) -> None:
    with pytest.raises(InvalidInputError, match="connection_limit"):
        HeliosClient("k", base_url=BASE_URL, connection_limit=limit)  # type: ignore[arg-type]


def test_the_repr_hides_credentials_in_the_base_url() -> None:
    client = HeliosClient("k", base_url="https://user:hunter2@helios.example")
    assert "hunter2" not in repr(client)


def test_resume_checks_again_only_rows_that_failed_before_any_run_existed(
    tmp_path: Path,
) -> None:
    """Issue 4: a row with a run is done (never paid for twice), so is a final answer; a row
    whose check never made a run (connection, key, server trouble) runs again."""
    out = tmp_path / "results.jsonl"
    lines = [
        {
            "line": 2,
            "row_hash": "a",
            "model_run_id": RUN_ID,
            "status": "COMPLETE_OK",
            "error": None,
        },
        {"line": 3, "row_hash": "b", "model_run_id": None, "error": {"type": "ConnectError"}},
        {"line": 4, "row_hash": "c", "model_run_id": None, "error": {"type": "RecordingError"}},
        {
            "line": 5,
            "row_hash": "d",
            "model_run_id": RUN_ID,
            "error": {"type": "DeadlineExceededError"},
        },
        {
            "line": 6,
            "row_hash": "e",
            "model_run_id": None,
            "error": {"type": "AuthenticationError"},
        },
        {
            "line": 7,
            "row_hash": "f",
            "model_run_id": None,
            "error": {"type": "ModelRunFailedError"},
        },
    ]
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    recorded = load_recorded(out)
    assert sorted(recorded.digests) == ["line:2", "line:4", "line:5", "line:7"]
    assert recorded.retrying == 2
