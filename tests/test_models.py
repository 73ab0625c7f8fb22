"""The typed models (helios-api.md §2, §3, §6; D6, D10, D11)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs
import pytest

from helios_async import (
    Account,
    ActivityRunCreated,
    BirthSex,
    ErrorCode,
    ModelRun,
    ModelRunCreated,
    ModelRunRequest,
    ModelRunResults,
    ModelRunStatus,
    Section,
    Tag,
    User,
)
from helios_async._converter import structure
from helios_async._models import SCORE_NAMES

CREATED_AT = dt.datetime(2026, 3, 26, 9, 30, 5, tzinfo=dt.UTC)
COMPLETED_AT = dt.datetime(2026, 3, 26, 9, 31, 40, tzinfo=dt.UTC)

# §3.3, in the contract's order.
WIRE_SCORES = [
    "mentalStrain",
    "distress",
    "stress",
    "exhaustion",
    "sleepPropensity",
    "lowSelfEsteem",
    "uniformDistress",
    "uniformStress",
    "uniformExhaustion",
    "uniformSleepPropensity",
    "uniformLowSelfEsteem",
]


def a_section(**changes: float) -> Section:
    scores = {
        "mental_strain": 0.42,
        "distress": 0.33,
        "stress": 0.33,
        "exhaustion": 0.66,
        "sleep_propensity": 0.66,
        "low_self_esteem": 0.0,
        "uniform_distress": 0.48,
        "uniform_stress": 0.39,
        "uniform_exhaustion": 0.61,
        "uniform_sleep_propensity": 0.58,
        "uniform_low_self_esteem": 0.21,
    }
    scores.update(changes)
    return Section(start_secs=0.0, finish_secs=28.6, transcript="The North Wind", **scores)


def a_run(**changes: object) -> ModelRun:
    fields: dict[str, object] = {
        "id": "ddebd75b-99b3-42b4-ac65-5ce852c688e9",
        "created_at": CREATED_AT,
        "status": ModelRunStatus.CREATED,
        "user_label": "operator-1234",
    }
    fields.update(changes)
    return ModelRun(**fields)  # type: ignore[arg-type]


# --- enums -------------------------------------------------------------------------------------


def test_status_and_error_code_enums_hold_exactly_the_documented_values():
    """§3.1, §3.4."""
    assert [s.value for s in ModelRunStatus] == [
        "CREATED",
        "RUNNING",
        "COMPLETE_OK",
        "COMPLETE_ERROR",
    ]
    assert [c.value for c in ErrorCode] == [
        "ERR_RECORDING_INVALID_FORMAT",
        "ERR_RECORDING_TOO_SHORT",
        "ERR_RECORDING_TOO_LONG",
        "ERR_TRANSCRIPTION_FAILED",
        "ERR_INTERNAL",
    ]
    assert [b.value for b in BirthSex] == ["MALE", "FEMALE", "INTERSEX", "UNKNOWN"]


def test_known_statuses_are_known():
    assert all(status.is_known for status in ModelRunStatus)
    assert ModelRunStatus("RUNNING") is ModelRunStatus.RUNNING


@pytest.mark.parametrize("value", ["PROCESSING", "FAILED", "complete_ok"])
def test_an_unknown_status_is_kept_not_fatal_and_equals_no_member(value):
    """D11, §9.14: the third party saw PROCESSING/FAILED; they must not crash structuring."""
    status = ModelRunStatus(value)
    assert isinstance(status, ModelRunStatus)
    assert status.value == value
    assert str(status) == value
    assert status == value
    assert status.is_known is False
    assert all(status != member for member in ModelRunStatus)
    assert status not in list(ModelRunStatus)


def test_an_unknown_error_code_is_kept():
    code = ErrorCode("ERR_SOMETHING_NEW")
    assert code.value == "ERR_SOMETHING_NEW"
    assert code.is_known is False


def test_open_enums_still_refuse_non_strings():
    with pytest.raises(ValueError, match="not a valid"):
        ModelRunStatus(3)


def test_birth_sex_is_a_closed_enum():
    """§6.1: unlike statuses, a request value outside the enum is an error."""
    with pytest.raises(ValueError, match="not a valid"):
        BirthSex("OTHER")


# --- ModelRun ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "completed_at", "finished"),
    [
        (ModelRunStatus.CREATED, None, False),
        (ModelRunStatus.RUNNING, None, False),
        (ModelRunStatus("PROCESSING"), None, False),
        (ModelRunStatus.COMPLETE_OK, None, True),
        (ModelRunStatus.COMPLETE_ERROR, None, True),
        (ModelRunStatus("PROCESSING"), COMPLETED_AT, True),
        (ModelRunStatus.RUNNING, COMPLETED_AT, True),
    ],
)
def test_a_run_is_finished_by_a_terminal_status_or_by_completed_at(status, completed_at, finished):
    """D11: COMPLETE_OK, COMPLETE_ERROR or completedAt set ends the wait; anything else waits."""
    assert a_run(status=status, completed_at=completed_at).is_finished is finished


def test_succeeded_needs_complete_ok_and_results():
    results = ModelRunResults(sections=(a_section(),))
    assert a_run(status=ModelRunStatus.COMPLETE_OK, results=results).succeeded
    assert not a_run(status=ModelRunStatus.COMPLETE_OK).succeeded
    assert not a_run(status=ModelRunStatus.COMPLETE_ERROR, results=results).succeeded


def test_section_is_the_first_section_or_none():
    """§3.3: currently always exactly one section."""
    first, second = a_section(distress=1.0), a_section(distress=0.0)
    assert a_run(results=ModelRunResults(sections=(first, second))).section is first
    assert a_run(results=ModelRunResults(sections=())).section is None
    assert a_run().section is None


def test_defaults_read_like_an_api_null():
    """D10: a missing warnings list is empty; other optional fields are None."""
    run = a_run()
    assert run.warnings == ()
    assert run.delete_data is False
    assert (run.run_at, run.completed_at, run.results, run.error_code) == (None,) * 4


def test_raw_takes_no_part_in_equality_or_repr():
    """D10: raw is diagnostic; two runs with the same fields are equal."""
    one = a_run(raw={"id": "x", "extra": 1})
    two = a_run(raw={})
    assert one == two
    assert "extra" not in repr(one)


def test_models_are_frozen_and_keyword_only():
    run = a_run()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        run.status = ModelRunStatus.RUNNING  # type: ignore[misc]
    with pytest.raises(TypeError):
        Tag("site", "depot-7")  # type: ignore[misc]


# --- Section -----------------------------------------------------------------------------------


def test_section_scores_lists_the_eleven_scores_in_the_contract_order():
    """§3.3: mentalStrain, the five bucketed, then the five uniform scores."""
    scores = a_section().scores
    camel = [
        name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])
        for name in scores
    ]
    assert camel == WIRE_SCORES
    assert scores["mental_strain"] == 0.42
    assert scores["exhaustion"] == 0.66


# --- create answers keep their secrets out of repr ---------------------------------------------


def test_the_presigned_upload_url_is_kept_out_of_repr():
    """§4: the URL carries a signature; reprs end up in logs."""
    created = ModelRunCreated(id="r1", recording_upload_url="https://s/u?X-Amz-Signature=SIG")
    assert "SIG" not in repr(created)
    assert "r1" in repr(created)


def test_the_activity_link_is_kept_out_of_repr():
    created = ActivityRunCreated(id="r1", activity_link="https://a/x?token=TOKEN")
    assert "TOKEN" not in repr(created)
    assert created.raw == {}


def test_user_labels_and_transcripts_are_redacted_in_reprs_but_kept_as_values():
    """Reprs end up in logs and tracebacks: a run, its section and a user show the label and
    the transcript as ``<redacted>``, while the fields themselves are untouched."""
    user = User(user_label="operator-1234", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE")
    run = a_run(status=ModelRunStatus.COMPLETE_OK, results=ModelRunResults(sections=(a_section(),)))
    for model in (
        user,
        run,
        run.section,
        run.results,
        ModelRunRequest(user=user, language="en-GB"),
    ):
        shown = repr(model)
        assert "operator-1234" not in shown
        assert "North Wind" not in shown
    assert "user_label=<redacted>" in repr(user)
    assert "transcript=<redacted>" in repr(run.section)
    assert "stress=0.33" in repr(run.section)  # the scores stay visible
    assert (user.user_label, run.user_label) == ("operator-1234", "operator-1234")
    assert run.section is not None and run.section.transcript == "The North Wind"


def test_account_features_default_to_empty():
    assert Account(id="acc").features == ()


def test_a_request_with_only_the_required_fields_has_the_documented_defaults():
    """§2.3: deleteData defaults to false; everything else optional is unset."""
    request = ModelRunRequest(
        user=User(user_label="u", date_of_birth=dt.date(1990, 8, 24), birth_sex="MALE"),
        language="en-GB",
    )
    assert request.delete_data is False
    assert request.tags == ()
    assert request.accent is None
    assert request.data_to_delete is None
    assert request.user.birth_sex is BirthSex.MALE


# -- to_dict: the JSON-ready wire form of what the API answers ------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("run_created", ModelRun),
        ("run_running", ModelRun),
        ("run_complete_ok", ModelRun),
        ("run_complete_error", ModelRun),
        ("account", Account),
        ("create_response", ModelRunCreated),
    ],
)
def test_to_dict_is_json_ready_equals_the_api_payload_and_reads_back(
    examples: dict[str, dict[str, Any]], name: str, cls: type[Any]
) -> None:
    """json.dumps takes it as is (plain str, float, bool, list, dict, None); it is the
    §7 example it was read from; structuring it again gives an equal model."""
    model = structure(examples[name], cls)
    as_dict = model.to_dict()
    text = json.dumps(as_dict)
    assert json.loads(text) == as_dict
    assert as_dict == examples[name]
    assert structure(json.loads(text), cls) == model


def test_to_dict_has_only_plain_json_types_and_leaves_out_raw_and_request_id(
    examples: dict[str, dict[str, Any]],
) -> None:
    run = structure(examples["run_complete_ok"], ModelRun, request_id="req-1")
    as_dict = run.to_dict()
    assert "raw" not in as_dict
    assert "requestId" not in as_dict
    assert type(as_dict["status"]) is str  # not the enum
    assert type(as_dict["createdAt"]) is str
    section = as_dict["results"]["sections"][0]
    assert section["mentalStrain"] == {"value": 0.42}
    assert run.section is not None
    assert run.section.to_dict() == section
    assert ActivityRunCreated(id="r", activity_link="https://a").to_dict() == {
        "id": "r",
        "activityLink": "https://a",
    }


def test_section_scores_is_a_property_of_the_eleven_scores_in_order() -> None:
    section = a_section()
    assert isinstance(Section.__dict__["scores"], property)
    assert list(section.scores) == list(SCORE_NAMES)
    section.scores["stress"] = 9.0  # a fresh dict on each read: the model is unchanged
    assert section.scores["stress"] == section.stress


def test_models_pickle_round_trip_by_their_public_names(
    examples: dict[str, dict[str, Any]],
) -> None:
    import pickle

    run = structure(examples["run_complete_ok"], ModelRun, request_id="req-1")
    data = pickle.dumps(run)
    assert b"helios_async._models" not in data  # found as helios_async.ModelRun
    again = pickle.loads(data)
    assert again == run
    assert again.raw == run.raw
    assert again.request_id == "req-1"
    assert pickle.loads(pickle.dumps(ModelRunStatus.RUNNING)) is ModelRunStatus.RUNNING
