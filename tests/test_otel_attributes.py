"""``_otel_attributes``: the values the client's spans and metrics carry, computed without
OpenTelemetry: low-cardinality URL templates, public error types and a check's outcome."""

from __future__ import annotations

import asyncio

import pytest

from helios_async import ConnectError, InvalidInputError, OutcomeUnknownError
from helios_async._otel_attributes import described, error_type, outcome, url_template_of

RUN_ID = "0e3c6a61-2b1e-4c9b-9d4f-6f1f4f0a8e21"
API = "https://api.thymia.ai"


@pytest.mark.parametrize(
    ("operation", "path", "template"),
    [
        ("get_model_run", f"/v1/models/mental-wellness/{RUN_ID}", "/v1/models/mental-wellness/"),
        ("create_model_run", "/v1/models/mental-wellness", "/v1/models/mental-wellness"),
        ("get_account", "/v1/account", "/v1/account"),
    ],
)
def test_an_api_url_template_keeps_the_path_with_the_run_id_as_a_placeholder(
    operation: str, path: str, template: str
) -> None:
    shown = url_template_of(operation, API + path)
    assert shown == template + ("{model_run_id}" if RUN_ID in path else "")


def test_an_upload_url_template_drops_the_object_key_ids_and_the_signature() -> None:
    url = f"https://storage.example/bucket/{RUN_ID}/audio.wav?X-Amz-Signature=abc123"
    assert url_template_of("upload_recording", url) == "/bucket/{id}/{object_key}"


def test_an_attempt_is_named_by_method_and_template_and_an_odd_method_is_other() -> None:
    url = f"{API}/v1/models/mental-wellness/{RUN_ID}"
    name, metric, span = described("get_model_run", "GET", url)
    assert name == "GET /v1/models/mental-wellness/{model_run_id}"
    assert metric["server.address"] == "api.thymia.ai" and metric["server.port"] == 443
    assert RUN_ID not in str(dict(metric))  # low cardinality: no id in a metric's attributes
    assert span["url.full"] == url and span["helios.operation"] == "get_model_run"
    odd_name, odd_metric, _ = described("get_account", "BREW", f"{API}/v1/account")
    assert odd_name == "HTTP /v1/account" and odd_metric["http.request.method"] == "_OTHER"


def test_error_type_names_public_classes_not_private_modules() -> None:
    assert error_type(ConnectError("refused", method="GET", url=API)) == (
        "helios_async.ConnectError"
    )
    assert error_type(asyncio.CancelledError()) == "asyncio.CancelledError"
    assert error_type(OSError("disk")) == "builtins.OSError"


@pytest.mark.parametrize(
    ("exc", "ended"),
    [
        (None, "complete_ok"),
        (asyncio.CancelledError(), "cancelled"),
        (InvalidInputError("language", "must be ll-CC"), "rejected"),
        (ConnectError("refused", method="POST", url=API), "failed"),
        (OSError("disk"), "failed"),
    ],
)
def test_a_check_s_outcome_sorts_how_it_ended(exc: BaseException | None, ended: str) -> None:
    assert outcome(exc) == ended


def test_a_create_that_may_have_made_a_run_is_an_unknown_outcome() -> None:
    cause = ConnectError("reset", method="POST", url=API)
    exc = OutcomeUnknownError("create_model_run", user_label="u", cause=cause)
    assert outcome(exc) == "outcome_unknown"
