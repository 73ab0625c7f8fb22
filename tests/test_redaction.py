"""``_redaction``: the key and presigned URLs hide themselves in a repr; URLs as spans show them."""

from __future__ import annotations

import copy
import pickle
import traceback

import pytest

from helios_async._redaction import (
    Secret,
    SignedURL,
    drop_inner_frames,
    full_url,
    redact_url,
    signed_url,
    storage_template,
)

SIGNED = (
    "https://bucket.s3.amazonaws.com/recordings/ddebd75b-99b3-42b4-ac65-5ce852c688e9.wav"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260326%2Feu-west-2"
    "&X-Amz-Date=20260326T093005Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0"
)


def test_a_secret_is_the_string_it_holds_but_its_repr_hides_it() -> None:
    key = Secret("hk-live-abc123")
    assert key == "hk-live-abc123"
    assert f"{key}" == "hk-live-abc123"
    assert repr(key) == "'<redacted>'"
    assert "abc123" not in repr([key, {"x-api-key": key}])


def test_a_signed_url_shows_its_path_but_not_its_query() -> None:
    url = SignedURL(SIGNED)
    assert url == SIGNED
    assert repr(url) == repr(SIGNED.partition("?")[0] + "?<redacted>")
    assert "X-Amz" not in repr(url)


@pytest.mark.parametrize("value", [Secret("k-123"), SignedURL(SIGNED)])
def test_the_redacting_types_survive_copy_and_pickle(value: str) -> None:
    for copied in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
        assert type(copied) is type(value)
        assert copied == value


def test_signed_url_converts_once() -> None:
    url = signed_url(SIGNED)
    assert isinstance(url, SignedURL)
    assert signed_url(url) is url


def test_redact_url_drops_the_query_string() -> None:
    assert redact_url("https://api.example/v1/account") == "https://api.example/v1/account"
    assert redact_url(SIGNED).endswith(".wav?<redacted>")


def test_redact_url_drops_a_user_and_password_too() -> None:
    shown = redact_url("https://me:hunter2@gw.example/v1/account?x=1")
    assert shown == "https://gw.example/v1/account?<redacted>"


def test_full_url_keeps_the_query_keys_and_redacts_every_value() -> None:
    shown = full_url(SIGNED)
    assert shown.startswith("https://bucket.s3.amazonaws.com/recordings/")
    assert "X-Amz-Signature=REDACTED" in shown
    assert "X-Amz-Credential=REDACTED" in shown
    assert "AKIAEXAMPLE" not in shown
    assert "0f1e2d3c" not in shown


def test_full_url_redacts_user_info_and_leaves_a_plain_url_alone() -> None:
    assert full_url("https://me:pw@api.example/v1/account") == (
        "https://REDACTED:REDACTED@api.example/v1/account"
    )
    assert full_url("http://127.0.0.1:8080/v1/account") == "http://127.0.0.1:8080/v1/account"


@pytest.mark.parametrize(
    ("url", "template"),
    [
        (SIGNED, "/recordings/{object_key}"),
        (
            "http://127.0.0.1:1/helios-sandbox/recordings/ddebd75b-99b3-42b4-ac65-5ce852c688e9?a=b",
            "/helios-sandbox/recordings/{object_key}",
        ),
        (
            "https://s.example/up/ddebd75b99b342b4ac655ce852c688e9/audio.wav?sig=x",
            "/up/{id}/{object_key}",
        ),
        ("https://s.example/object?sig=x", "/{object_key}"),
    ],
)
def test_the_storage_template_hides_the_object_key_and_ids(url: str, template: str) -> None:
    assert storage_template(url) == template


def _inner(url: str) -> None:
    signed = str(url)  # a plain copy, as the yarl.URL in aiohttp's frames holds it
    raise OSError(f"broken pipe after {len(signed)} bytes")


def _caller(url: str) -> None:
    try:
        _inner(url)
    except OSError as exc:
        drop_inner_frames(exc)
        raise RuntimeError("the connection failed") from exc


def test_drop_inner_frames_leaves_no_frame_below_the_catcher_in_the_chain() -> None:
    with pytest.raises(RuntimeError) as caught:
        _caller(SignedURL(SIGNED))
    exception = traceback.TracebackException.from_exception(caught.value, capture_locals=True)
    text = "".join(exception.format())
    assert "broken pipe after" in text  # the cause and its message are kept
    assert "signed =" not in text  # the frame below the catcher is gone
    assert "0f1e2d3c" not in text
    assert "AKIAEXAMPLE" not in text
