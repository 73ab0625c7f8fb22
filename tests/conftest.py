"""Shared fixtures: the contract's JSON examples (helios-api.md §7), a patched aioresponses,
and a fast HeliosClient pointed at a mocked API."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import recordings
from aiohttp import ClientResponse
from aioresponses import aioresponses
from aioresponses.core import normalize_url

from helios_async import HeliosClient, PollPolicy, RetryPolicy

API_KEY = "hk-test-Sup3rS3cretKey-0123456789"
BASE_URL = "https://helios.example"
RUN_ID = "ddebd75b-99b3-42b4-ac65-5ce852c688e9"

# helios-api.md §7, verbatim.
MINIMAL_CREATE: dict[str, Any] = {
    "user": {
        "userLabel": "42baba59-fa4a-4a22-ba1c-2e4a88a3badb",
        "dateOfBirth": "1990-08-24",
        "birthSex": "MALE",
    },
    "language": "en-GB",
}
CREATE_RESPONSE: dict[str, Any] = {"id": RUN_ID, "recordingUploadUrl": "https://path/to/upload"}
RUN_CREATED: dict[str, Any] = {
    "id": RUN_ID,
    "createdAt": "2026-03-26T09:30:05+00:00",
    "status": "CREATED",
    "userLabel": "operator-1234",
    "deleteData": False,
    "runAt": None,
    "completedAt": None,
    "errorReason": None,
    "warnings": None,
    "results": None,
    "errorCode": None,
}
RUN_RUNNING: dict[str, Any] = {
    **RUN_CREATED,
    "status": "RUNNING",
    "runAt": "2026-03-26T09:31:10+00:00",
}
RUN_COMPLETE_OK: dict[str, Any] = {
    "id": RUN_ID,
    "createdAt": "2026-03-26T09:30:05+00:00",
    "status": "COMPLETE_OK",
    "userLabel": "operator-1234",
    "deleteData": False,
    "runAt": "2026-03-26T09:31:10+00:00",
    "completedAt": "2026-03-26T09:31:40+00:00",
    "errorReason": None,
    "warnings": ["Audio quality may affect result accuracy."],
    "errorCode": None,
    "results": {
        "sections": [
            {
                "startSecs": 0,
                "finishSecs": 28.6,
                "transcript": "The North Wind and the Sun had a quarrel...",
                "mentalStrain": {"value": 0.42},
                "distress": {"value": 0.33},
                "stress": {"value": 0.33},
                "exhaustion": {"value": 0.66},
                "sleepPropensity": {"value": 0.66},
                "lowSelfEsteem": {"value": 0.0},
                "uniformDistress": {"value": 0.48},
                "uniformStress": {"value": 0.39},
                "uniformExhaustion": {"value": 0.61},
                "uniformSleepPropensity": {"value": 0.58},
                "uniformLowSelfEsteem": {"value": 0.21},
            }
        ]
    },
}
# The error reference's abbreviated example: only these keys (§7, §9.12).
RUN_COMPLETE_ERROR_ABBREVIATED: dict[str, Any] = {
    "id": RUN_ID,
    "status": "COMPLETE_ERROR",
    "errorCode": "ERR_RECORDING_TOO_SHORT",
    "errorReason": (
        "Recording supplied is too short. Please supply a recording containing at least 10 "
        "seconds of speech and that is under 3 minutes in length."
    ),
    "userLabel": "operator-1234",
}
# The same error run as a full response would carry it (§7: "a full response would also
# carry createdAt, runAt, completedAt, deleteData, warnings and results=null").
RUN_COMPLETE_ERROR: dict[str, Any] = {
    **RUN_COMPLETE_ERROR_ABBREVIATED,
    "createdAt": "2026-03-26T09:30:05+00:00",
    "runAt": "2026-03-26T09:31:10+00:00",
    "completedAt": "2026-03-26T09:31:40+00:00",
    "deleteData": False,
    "warnings": None,
    "results": None,
}
ACCOUNT: dict[str, Any] = {
    "id": "a1b2c3d4-e5f6-7890-ab12-cd34ef567890",
    "features": ["data-export", "real-time-analytics", "user-management"],
}
VALIDATION_422: dict[str, Any] = {
    "detail": [
        {
            "loc": ["body", "user", "birthSex"],
            "msg": "value is not a valid enumeration member",
            "type": "type_error.enum",
        }
    ]
}
NOT_FOUND_404: dict[str, Any] = {"detail": "Model run not found"}
FORBIDDEN_403: dict[str, Any] = {"message": "Forbidden"}

EXAMPLES: dict[str, dict[str, Any]] = {
    "minimal_create": MINIMAL_CREATE,
    "create_response": CREATE_RESPONSE,
    "run_created": RUN_CREATED,
    "run_running": RUN_RUNNING,
    "run_complete_ok": RUN_COMPLETE_OK,
    "run_complete_error": RUN_COMPLETE_ERROR,
    "run_complete_error_abbreviated": RUN_COMPLETE_ERROR_ABBREVIATED,
    "account": ACCOUNT,
    "validation_422": VALIDATION_422,
    "not_found_404": NOT_FOUND_404,
    "forbidden_403": FORBIDDEN_403,
}


@pytest.fixture
def examples() -> dict[str, dict[str, Any]]:
    """Deep copies of the §7 examples, so a test may change them freely."""
    return copy.deepcopy(EXAMPLES)


@pytest.fixture
def api_key() -> str:
    """The key the client fixture uses; tests check it never shows up anywhere."""
    return API_KEY


@pytest.fixture
def base_url() -> str:
    return BASE_URL


@pytest.fixture
def run_id() -> str:
    return RUN_ID


@pytest.fixture
def audio_dir() -> Path:
    """The shipped test recordings, ``tests/data/audio`` (see its README and recordings.py)."""
    return recordings.audio_dir()


@pytest.fixture(autouse=True)
def _no_thymia_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own THYMIA_* variables (D15) must not leak into any test."""
    for name in ("THYMIA_API_KEY", "THYMIA_BASE_URL", "THYMIA_REGION"):
        monkeypatch.delenv(name, raising=False)


# --- aioresponses on aiohttp 3.14 ------------------------------------------------------------
#
# Why: aiohttp 3.14 added a required keyword-only ``stream_writer`` argument to
# ``ClientResponse.__init__`` (when ``writer`` is None it reads ``stream_writer.output_size``
# to record how many request bytes were sent). aioresponses 0.7.9 builds its fake responses
# with ``writer=None`` and no ``stream_writer``, so every mocked request fails with
# ``TypeError: ClientResponse.__init__() missing 1 required keyword-only argument:
# 'stream_writer'``. aioresponses lets a caller choose the ``response_class`` per registered
# response, so the fix stays inside the tests: a ``ClientResponse`` subclass that supplies a
# stand-in writer which reports nothing sent, made the default by a small ``aioresponses``
# subclass. Nothing in aiohttp is patched, and aiohttp is not pinned.


class _NothingSentWriter:
    """Stands in for aiohttp's request stream writer; only ``output_size`` is read."""

    output_size = 0


class MockedResponse(ClientResponse):
    """A ``ClientResponse`` that aioresponses 0.7.9 can build on aiohttp 3.14."""

    def __init__(self, method: str, url: Any, *, stream_writer: Any = None, **kwargs: Any):
        super().__init__(
            method,
            url,
            stream_writer=stream_writer if stream_writer is not None else _NothingSentWriter(),
            **kwargs,
        )


class HeliosAioresponses(aioresponses):
    """aioresponses whose registered responses default to :class:`MockedResponse`."""

    def add(  # type: ignore[override]
        self, url: Any, method: str = "GET", *args: Any, **kwargs: Any
    ) -> None:
        if kwargs.get("response_class") is None:
            kwargs["response_class"] = MockedResponse
        super().add(url, method, *args, **kwargs)

    def calls(self, method: str, url: str) -> list[Any]:
        """The requests made to ``method url`` (aioresponses' ``requests`` entries)."""
        return self.requests.get((method.upper(), normalize_url(url)), [])

    def sessions_used(self) -> list[Any]:
        """The ``aiohttp.ClientSession`` behind each request, in order.

        aioresponses patches ``ClientSession._request`` with an autospec mock, which records
        the session each call was made on as its first argument.
        """
        from aiohttp import client

        return [call.args[0] for call in client.ClientSession._request.call_args_list]

    def total_calls(self) -> int:
        """How many requests were made in all."""
        return sum(len(calls) for calls in self.requests.values())


@pytest.fixture
def mock_api() -> Iterator[HeliosAioresponses]:
    with HeliosAioresponses() as mocked:
        yield mocked


async def no_sleep(seconds: float) -> None:
    """An injected sleep: the client fixture's retry backoffs are never slept for real."""


FAST_RETRY = RetryPolicy(
    attempts=3, backoff_initial=0.001, backoff_max=0.002, total_timeout=5, sleep=no_sleep
)
FAST_POLL = PollPolicy(first_interval=0.001, interval=0.001, timeout=2)


@pytest.fixture
async def client(mock_api: HeliosAioresponses) -> AsyncIterator[HeliosClient]:
    """An open client on an owned session, with tiny backoffs, against ``mock_api``."""
    async with HeliosClient(API_KEY, base_url=BASE_URL, retry=FAST_RETRY, poll=FAST_POLL) as helios:
        yield helios
