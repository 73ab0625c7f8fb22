"""JSON to models and back (helios-api.md §2, §3.3, §7; D8, D10, D11, D12)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import subprocess
import sys
from typing import Any

import pytest

from helios_async import (
    Account,
    BirthSex,
    DecodeError,
    ErrorCode,
    ModelRun,
    ModelRunCreated,
    ModelRunRequest,
    ModelRunStatus,
    Tag,
    User,
)
from helios_async import _converter as converter_module
from helios_async._converter import camel, structure, structure_json, unstructure
from helios_async._protocol import Endpoints
from helios_async._redaction import PersonalBytes

UTC = dt.UTC


def without_nulls(value: Any) -> Any:
    """D10: a null and a missing field mean the same; drop nulls at every depth."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def body_of(request: ModelRunRequest) -> Any:
    """What the client would POST, decoded back from the exact bytes."""
    api = Endpoints(base_url="https://h", api_key="k", user_agent="ua")
    body = api.create_model_run(request).body
    assert body is not None
    return json.loads(body)


def minimal_request() -> ModelRunRequest:
    return ModelRunRequest(
        user=User(
            user_label="42baba59-fa4a-4a22-ba1c-2e4a88a3badb",
            date_of_birth=dt.date(1990, 8, 24),
            birth_sex=BirthSex.MALE,
        ),
        language="en-GB",
    )


# --- §7 response examples structure, and round-trip ---------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "run_created",
        "run_running",
        "run_complete_ok",
        "run_complete_error",
    ],
)
def test_every_section_7_run_example_structures_and_round_trips(examples, name):
    """§7, D10: each GET example becomes a ModelRun and unstructures back to the same JSON,
    a null being the same as a missing field."""
    payload = examples[name]
    run = structure_json(json.dumps(payload).encode(), ModelRun)
    assert run.id == payload["id"]
    assert run.status == payload["status"]
    assert run.status.is_known
    assert run.raw == payload
    assert without_nulls(unstructure(run)) == without_nulls(payload)


def test_the_created_example_has_no_optional_values(examples):
    """§7: just created, every nullable field is null."""
    run = structure(examples["run_created"], ModelRun)
    assert run.status is ModelRunStatus.CREATED
    assert run.created_at == dt.datetime(2026, 3, 26, 9, 30, 5, tzinfo=UTC)
    assert (run.run_at, run.completed_at, run.results, run.error_code, run.error_reason) == (
        None,
    ) * 5
    assert run.warnings == ()
    assert run.is_finished is False


def test_the_success_example_gives_the_scores_as_floats(examples):
    """§3.3: each score is ``{"value": x}`` on the wire and a float here."""
    run = structure(examples["run_complete_ok"], ModelRun)
    assert run.status is ModelRunStatus.COMPLETE_OK
    assert run.succeeded
    assert run.is_finished
    assert run.warnings == ("Audio quality may affect result accuracy.",)
    section = run.section
    assert section is not None
    assert section.start_secs == 0.0
    assert isinstance(section.start_secs, float)
    assert section.finish_secs == 28.6
    assert section.transcript.startswith("The North Wind")
    wire = examples["run_complete_ok"]["results"]["sections"][0]
    for name, value in section.scores.items():
        assert value == wire[camel(name)]["value"]
        assert isinstance(value, float)


def test_the_error_example_gives_the_code_and_reason(examples):
    """§3.4: errorCode and errorReason are set on COMPLETE_ERROR."""
    run = structure(examples["run_complete_error"], ModelRun)
    assert run.status is ModelRunStatus.COMPLETE_ERROR
    assert run.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    assert run.error_reason.startswith("Recording supplied is too short.")
    assert run.results is None
    assert run.is_finished
    assert not run.succeeded


def test_the_abbreviated_error_reference_example_structures(examples):
    """§7, §9.12, D10: the error reference's example omits createdAt, runAt, completedAt and
    deleteData; "clients must tolerate both" null and omitted fields, so it must structure and
    keep the error code rather than fail with DecodeError."""
    payload = examples["run_complete_error_abbreviated"]
    run = structure_json(json.dumps(payload).encode(), ModelRun)
    assert run.status is ModelRunStatus.COMPLETE_ERROR
    assert run.error_code is ErrorCode.ERR_RECORDING_TOO_SHORT
    assert run.error_reason == payload["errorReason"]
    assert run.user_label == "operator-1234"
    assert run.is_finished


def test_the_account_example_structures_and_round_trips(examples):
    """§2.2, §7."""
    account = structure(examples["account"], Account)
    assert account.id == "a1b2c3d4-e5f6-7890-ab12-cd34ef567890"
    assert account.features == ("data-export", "real-time-analytics", "user-management")
    assert unstructure(account) == examples["account"]


def test_the_create_response_example_structures_and_round_trips(examples):
    """§2.3, §7: ``{"id", "recordingUploadUrl"}``."""
    created = structure(examples["create_response"], ModelRunCreated)
    assert created.id == examples["create_response"]["id"]
    assert created.recording_upload_url == "https://path/to/upload"
    assert unstructure(created) == examples["create_response"]


def test_an_account_id_that_is_a_customer_number_is_kept_opaque():
    """§2.2: older deployments may return a customer number; the id is an opaque string."""
    assert structure({"id": "C-000123", "features": []}, Account).id == "C-000123"


# --- D10 nulls and extra fields ----------------------------------------------------------------


def test_missing_and_null_optional_fields_read_the_same(examples):
    """D10: a field that is missing and a field that is null mean the same: absent."""
    with_nulls = examples["run_created"]
    missing = {k: v for k, v in with_nulls.items() if v is not None}
    assert structure(with_nulls, ModelRun) == structure(missing, ModelRun)


def test_unknown_extra_fields_are_ignored_and_kept_on_raw(examples):
    """D10, §2.2: "more fields will be added"; clients must ignore and keep them."""
    payload = {**examples["run_running"], "tags": [{"name": "a"}], "speechSeconds": 12.5}
    run = structure(payload, ModelRun)
    assert run == structure(examples["run_running"], ModelRun)
    assert run.raw["speechSeconds"] == 12.5
    assert run.raw["tags"] == [{"name": "a"}]
    account = structure({**examples["account"], "plan": "pro"}, Account)
    assert account.raw["plan"] == "pro"
    assert account.features == tuple(examples["account"]["features"])


def test_extra_fields_inside_a_section_are_ignored(examples):
    payload = examples["run_complete_ok"]
    payload["results"]["sections"][0]["newScore"] = {"value": 0.5}
    payload["results"]["version"] = 2
    run = structure(payload, ModelRun)
    assert run.section is not None
    assert "new_score" not in run.section.scores


# --- D11 unknown status ------------------------------------------------------------------------


def test_an_unknown_status_is_kept_with_is_known_false(examples):
    """D11: ``PROCESSING`` (seen by a third party) never crashes structuring."""
    run = structure({**examples["run_running"], "status": "PROCESSING"}, ModelRun)
    assert run.status.value == "PROCESSING"
    assert run.status.is_known is False
    assert run.is_finished is False
    assert unstructure(run)["status"] == "PROCESSING"


def test_an_unknown_status_with_completed_at_counts_as_finished(examples):
    """D11: completedAt set means finished, whatever the status says."""
    payload = {**examples["run_running"], "status": "FAILED", "completedAt": "2026-03-26T10:00Z"}
    assert structure(payload, ModelRun).is_finished is True


def test_an_unknown_error_code_is_kept(examples):
    payload = {**examples["run_complete_error"], "errorCode": "ERR_NEW_KIND"}
    run = structure(payload, ModelRun)
    assert run.error_code is not None
    assert run.error_code.value == "ERR_NEW_KIND"
    assert run.error_code.is_known is False


# --- D12 timestamps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2026-03-26T09:30:05+00:00", dt.datetime(2026, 3, 26, 9, 30, 5, tzinfo=UTC)),
        ("2026-03-26T09:30:05Z", dt.datetime(2026, 3, 26, 9, 30, 5, tzinfo=UTC)),
        ("2026-03-26T10:30:05+01:00", dt.datetime(2026, 3, 26, 9, 30, 5, tzinfo=UTC)),
        ("2026-03-26T04:30:05-05:00", dt.datetime(2026, 3, 26, 9, 30, 5, tzinfo=UTC)),
        ("2026-03-26T09:30:05.123Z", dt.datetime(2026, 3, 26, 9, 30, 5, 123000, tzinfo=UTC)),
        (
            "2026-03-26T09:30:05.123456+00:00",
            dt.datetime(2026, 3, 26, 9, 30, 5, 123456, tzinfo=UTC),
        ),
        ("2026-03-26T09:30:05", dt.datetime(2026, 3, 26, 9, 30, 5, tzinfo=UTC)),
        ("2026-03-26T09:30:05.5", dt.datetime(2026, 3, 26, 9, 30, 5, 500000, tzinfo=UTC)),
    ],
)
def test_response_timestamps_accept_z_offsets_fractions_and_naive_as_utc(examples, wire, expected):
    """D12, §1.4: all become timezone-aware; a naive value is taken as UTC."""
    run = structure({**examples["run_running"], "createdAt": wire, "runAt": wire}, ModelRun)
    for value in (run.created_at, run.run_at):
        assert value is not None
        assert value.tzinfo is not None
        assert value == expected


def test_an_offset_is_kept_not_rewritten(examples):
    """D12: +01:00 stays +01:00 (same instant), so nothing is silently shifted."""
    run = structure({**examples["run_running"], "createdAt": "2026-03-26T10:30:05+01:00"}, ModelRun)
    assert run.created_at.utcoffset() == dt.timedelta(hours=1)


def test_a_null_or_missing_status_is_absent_not_an_error(examples):
    """D10: null is absent; D11: a run without a status is unfinished (unless completedAt)."""
    run = structure({**examples["run_running"], "status": None}, ModelRun)
    assert (run.status, run.status.is_known, bool(run.status)) == ("", False, False)
    assert not run.is_finished
    missing = {k: v for k, v in examples["run_running"].items() if k != "status"}
    assert structure(missing, ModelRun).status == ""
    done = structure({**missing, "completedAt": "2026-03-26T09:31:40Z"}, ModelRun)
    assert done.is_finished and not done.succeeded


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mentalStrain", 7.5),
        ("uniformStress", -0.2),
        ("distress", 1.5),
        ("lowSelfEsteem", -0.1),
        ("stress", 1.005),
    ],
)
def test_a_score_outside_its_d6_range_is_a_decode_error(examples, field, value):
    """D6: every score, bucketed or continuous, is a finite number in [0, 1]."""
    payload = copy.deepcopy(examples["run_complete_ok"])
    payload["results"]["sections"][0][field] = {"value": value}
    with pytest.raises(DecodeError, match=r"score (lies in|is one of)") as caught:
        structure(payload, ModelRun)
    assert str(value) in str(caught.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "0.33", True, None])
def test_a_bucketed_score_that_is_not_a_finite_number_is_a_decode_error(examples, value):
    payload = copy.deepcopy(examples["run_complete_ok"])
    payload["results"]["sections"][0]["stress"] = {"value": value}
    with pytest.raises(DecodeError, match="stress"):
        structure(payload, ModelRun)


@pytest.fixture
def off_bucket_logged(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """A fresh record of the bucketed fields already logged off their buckets."""
    logged: set[str] = set()
    monkeypatch.setattr(converter_module, "_off_bucket_fields", logged)
    return logged


@pytest.mark.parametrize("path", ["one-pass", "detailed"])
def test_a_bucketed_score_off_the_buckets_is_kept_and_logged_once_per_field(
    examples, caplog, off_bucket_logged, path
):
    """D6 decision: the buckets are inferred from thymia's examples, so a bucketed score in
    [0, 1] between them (stress 0.5) is kept as sent, not a DecodeError losing a billed run,
    and logged at WARNING once per field name; the log names the field, never the value."""
    caplog.set_level(logging.WARNING, logger="helios_async")
    payload = copy.deepcopy(examples["run_complete_ok"])
    section = payload["results"]["sections"][0]
    section["stress"] = {"value": 0.5}
    section["exhaustion"] = {"value": 0.8125}
    for _ in range(3):
        if path == "one-pass":
            run = structure(payload, ModelRun)
        else:
            run = converter_module._detailed().structure(payload, ModelRun)
        assert run.section is not None
        assert (run.section.stress, run.section.exhaustion) == (0.5, 0.8125)
    lines = [r.getMessage() for r in caplog.records if r.name == "helios_async"]
    assert len(lines) == 2 and all(r.levelno == logging.WARNING for r in caplog.records)
    assert any(" stress " in line for line in lines)
    assert any(" exhaustion " in line for line in lines)
    assert not any("0.5" in line or "0.8125" in line for line in lines)
    assert off_bucket_logged == {"stress", "exhaustion"}


@pytest.mark.parametrize(("field", "value"), [("userLabel", 7), ("errorReason", 42)])
def test_a_number_is_never_taken_for_a_string(examples, field, value):
    """Strict JSON types: a number where a string belongs is a DecodeError..."""
    with pytest.raises(DecodeError, match="expected str"):
        structure({**examples["run_running"], field: value}, ModelRun)


def test_the_account_id_alone_takes_a_number(examples):
    """...except the account id, a customer number on old deployments (§2.2)."""
    assert structure({"id": 12345, "features": []}, Account).id == "12345"


# --- bad payloads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"createdAt": "yesterday"}, "created_at"),
        ({"createdAt": 1711445405}, "created_at"),
        ({"id": None}, "id"),
        ({"status": 5}, "status"),
        ({"results": {"sections": [{"startSecs": 0}]}}, "finish_secs"),
        ({"results": {"sections": "none"}}, "sections"),
        ({"completedAt": "soon"}, "completed_at"),
    ],
)
def test_a_payload_that_does_not_fit_raises_decode_error_naming_the_field(examples, change, field):
    """A 2xx body off the contract is a DecodeError whose message names the field at fault and
    which carries the raw body for diagnosis."""
    payload = {**examples["run_created"], **change}
    body = json.dumps(payload).encode()
    with pytest.raises(DecodeError) as caught:
        structure_json(body, ModelRun)
    assert caught.value.body == body
    message = str(caught.value)
    assert "ModelRun" in message
    assert field in message or camel(field) in message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deleteData": "false"}, "delete_data"),
        ({"deleteData": "no"}, "delete_data"),
        ({"warnings": "Audio quality may affect result accuracy."}, "warnings"),
        ({"userLabel": {"label": "operator-1234"}}, "user_label"),
    ],
)
def test_a_wrongly_typed_field_is_a_decode_error_not_silently_coerced(examples, change, field):
    """A body off the contract must be a DecodeError, never a model that says something the
    server did not: ``"deleteData": "false"`` must not read as True, a ``warnings`` string must
    not become a tuple of its characters, an object must not become its Python repr."""
    payload = {**examples["run_running"], **change}
    body = json.dumps(payload).encode()
    with pytest.raises(DecodeError) as caught:
        structure_json(body, ModelRun)
    assert field in str(caught.value) or camel(field) in str(caught.value)
    assert caught.value.body == body


def test_a_score_that_is_not_a_number_raises_decode_error(examples):
    payload = examples["run_complete_ok"]
    payload["results"]["sections"][0]["stress"] = {"value": "high"}
    with pytest.raises(DecodeError, match="stress"):
        structure_json(json.dumps(payload).encode(), ModelRun)
    payload["results"]["sections"][0]["stress"] = {"value": True}
    with pytest.raises(DecodeError, match="stress"):
        structure_json(json.dumps(payload).encode(), ModelRun)


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"id": "x", "createdAt": ', b"not json", b"\xff\xfe", b"<html>502</html>"],
)
def test_a_body_that_is_not_json_raises_decode_error_with_the_body(body):
    with pytest.raises(DecodeError) as caught:
        structure_json(body, ModelRun)
    assert caught.value.body == body
    assert "not JSON" in str(caught.value)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_number_is_refused_by_the_field_it_is_in(examples, number):
    """orjson refuses these bodies; json reads them, and the field's rule names the field."""
    body = json.dumps(examples["run_complete_ok"]).replace("0.42", number).encode()
    with pytest.raises(DecodeError, match="mental_strain") as caught:
        structure_json(body, ModelRun)
    assert "not JSON" not in str(caught.value)
    assert caught.value.body == body


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_body_with_a_byte_order_mark_reads_as_json_does(examples, encoding):
    """What ``json`` accepts stays accepted: a BOM, UTF-16 (RFC 8259 readers may)."""
    body = json.dumps(examples["run_running"]).encode(encoding)
    assert structure_json(body, ModelRun) == structure(examples["run_running"], ModelRun)


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
def test_json_that_is_not_an_object_raises_decode_error(body):
    with pytest.raises(DecodeError) as caught:
        structure_json(body, Account)
    assert caught.value.body == body


# --- request bodies: exact §7 JSON, camelCase only when set ------------------------------------


def test_the_minimal_create_body_is_exactly_the_section_7_minimal_json(examples):
    """§7: nothing beyond user and language when nothing else was set."""
    assert body_of(minimal_request()) == examples["minimal_create"]


@pytest.mark.parametrize(
    ("field", "value", "wire_key", "wire_value"),
    [
        ("accent", "scottish", "accent", "scottish"),
        ("sleep_time", dt.datetime(2026, 3, 25, 23, 10), "sleepTime", "2026-03-25T23:10:00"),
        ("wake_time", dt.datetime(2026, 3, 26, 6, 45), "wakeTime", "2026-03-26T06:45:00"),
        (
            "recording_time",
            dt.datetime(2026, 3, 26, 9, 30, 0, 250000),
            "recordingTime",
            "2026-03-26T09:30:00.250000",
        ),
        (
            "tags",
            {"site": "depot-7", "shift": "early"},
            "tags",
            [{"name": "site", "value": "depot-7"}, {"name": "shift", "value": "early"}],
        ),
        ("delete_data", True, "deleteData", True),
        ("data_to_delete", ["RECORDINGS"], "dataToDelete", ["RECORDINGS"]),
    ],
)
def test_each_optional_field_appears_camel_case_only_when_set(
    examples, field, value, wire_key, wire_value
):
    """§2.3, D8: a set optional field adds exactly its camelCase key; datetimes stay naive."""
    request = ModelRunRequest(user=minimal_request().user, language="en-GB", **{field: value})
    assert body_of(request) == {**examples["minimal_create"], wire_key: wire_value}


def test_delete_data_false_is_the_default_and_left_out():
    """§2.3: deleteData defaults to false, so false adds nothing to the body."""
    request = ModelRunRequest(user=minimal_request().user, language="en-GB", delete_data=False)
    assert "deleteData" not in body_of(request)


def test_the_full_create_body_matches_the_section_7_full_example():
    """§7 "Create (all optional fields)", with its placeholders filled in."""
    request = ModelRunRequest(
        user=User(
            user_label="operator-1234", date_of_birth=dt.date(1985, 1, 1), birth_sex="FEMALE"
        ),
        language="en-GB",
        accent="<ACCENT_ENUM_VALUE>",
        sleep_time=dt.datetime(2026, 3, 25, 23, 10),
        wake_time=dt.datetime(2026, 3, 26, 6, 45),
        recording_time=dt.datetime(2026, 3, 26, 9, 30),
        tags=[Tag(name="site", value="depot-7"), Tag(name="shift", value="early")],
        delete_data=True,
        data_to_delete=["<DATA_TYPE_ENUM>"],
    )
    assert body_of(request) == {
        "user": {"userLabel": "operator-1234", "dateOfBirth": "1985-01-01", "birthSex": "FEMALE"},
        "language": "en-GB",
        "accent": "<ACCENT_ENUM_VALUE>",
        "sleepTime": "2026-03-25T23:10:00",
        "wakeTime": "2026-03-26T06:45:00",
        "recordingTime": "2026-03-26T09:30:00",
        "tags": [{"name": "site", "value": "depot-7"}, {"name": "shift", "value": "early"}],
        "deleteData": True,
        "dataToDelete": ["<DATA_TYPE_ENUM>"],
    }


def test_the_create_body_is_compact_utf8_json():
    """The body is sent as bytes; non-ASCII labels survive."""
    request = ModelRunRequest(
        user=User(user_label="opérateur-ü", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE"),
        language="fr-FR",
    )
    api = Endpoints(base_url="https://h", api_key="k", user_agent="ua")
    body = api.create_model_run(request).body
    assert isinstance(body, bytes)
    assert json.loads(body.decode("utf-8"))["user"]["userLabel"] == "opérateur-ü"
    assert b": " not in body


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("id", "id"),
        ("user_label", "userLabel"),
        ("sleep_propensity", "sleepPropensity"),
        ("uniform_low_self_esteem", "uniformLowSelfEsteem"),
        ("data_to_delete", "dataToDelete"),
    ],
)
def test_camel_maps_snake_case_names_to_the_wire_names(name, wire):
    assert camel(name) == wire


@pytest.mark.parametrize("kind", [bytes, bytearray, PersonalBytes])
def test_a_valid_body_is_decoded_by_orjson_alone(examples, monkeypatch, kind):
    """json only judges what orjson refuses: a valid body, in whatever bytes type a response
    carries it (the transport's PersonalBytes), never reaches it."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("json.loads was called on a valid body")

    monkeypatch.setattr(converter_module.json, "loads", refuse)
    body = kind(json.dumps(examples["run_complete_ok"]).encode())
    assert structure_json(body, ModelRun) == structure(examples["run_complete_ok"], ModelRun)


FIRST_DECODE = """
import sys
from helios_async import Account, HeliosClient
from helios_async import _converter
assert "orjson" not in sys.modules, "imported before any body was decoded"
assert _converter.structure_json(b'{"id": "a"}', Account) == Account(id="a")
import orjson
assert _converter._loads is orjson.loads
print("ok")
"""


def test_orjson_is_imported_by_the_first_body_decoded_then_called_directly():
    result = subprocess.run(
        [sys.executable, "-c", FIRST_DECODE], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


@pytest.mark.parametrize("hook_name", ["_parse_continuous", "_bucketed"])
@pytest.mark.parametrize(
    "value",
    [
        {"value": 0.42},
        {"value": 0.0},
        {"value": -0.0},
        {"value": 0.33},
        {"value": 0.335},
        {"value": 0.34},
        {"value": 0.66},
        {"value": 0.995},
        {"value": 1.0},
        {"value": 1.005},
        {"value": 1.5},
        {"value": 7.5},
        {"value": -0.1},
        {"value": -0.2},
        {"value": 0.5},
        {"value": 1},
        {"value": True},
        {"value": "0.5"},
        {"value": float("nan")},
        {"value": float("inf")},
        {"value": None},
        {},
        0.33,
        "high",
    ],
    ids=repr,
)
def test_the_inline_score_check_gives_the_hook_s_answer(hook_name, value):
    """The one-pass functions carry each score hook's common case as source (no call per
    score): for every value, in range or out of it (D6), that source and the hook accept the
    same and return the same."""
    from helios_async import _converter

    parse = _converter._parse_continuous if hook_name == "_parse_continuous" else None
    parse = parse or _converter._bucketed("stress")

    def hook(v: object) -> object:
        try:
            return ("ok", parse(v))
        except (KeyError, TypeError, ValueError) as exc:
            return ("refused", type(exc))

    namespace: dict[str, object] = {"hook": hook}
    exec(f"def inline(v):\n    return ({parse.inline.format(v='v')} else hook(v))", namespace)
    inline = namespace["inline"]
    answer = inline(value)  # type: ignore[operator]
    expected = hook(value)
    assert (answer if isinstance(answer, tuple) else ("ok", answer)) == expected
